"""The hidden record of how campaigns reword: for each campaign and each of its phrases (the core), a chain
of variants made by the corpus generator's camouflage operators, each a variant of the one before."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass

from qx_env.corpus.synth import camouflage

#: Tries to find a variant that contains no earlier member of its chain (so a query for a retired wording
#: cannot find it by containment) before the last try is kept as it is.
TRIES = 8


def keyed_rng(seed: int, *parts: object) -> random.Random:
    """One generator per key (a campaign and a phrase, say): its draws do not depend on which other keys exist."""
    digest = hashlib.sha256("\0".join(map(str, (seed, *parts))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def variant_chain(phrase: str, language: str, length: int, rng: random.Random,
                  operators_per_variant: int = 1) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``length`` variants of ``phrase``, each made from the previous one by camouflage operators, and the
    operators used for each ('+'-joined)."""
    chain, used = [phrase], []
    for _ in range(length):
        for _ in range(TRIES):
            variant, ops = camouflage(chain[-1], language, rng, n_operators=operators_per_variant)
            if variant not in chain and not any(earlier in variant for earlier in chain):
                break
        chain.append(variant)
        used.append("+".join(ops))
    return tuple(chain[1:]), tuple(used)


@dataclass(frozen=True)
class Lineage:
    """``variants[(campaign, phrase)]``: the phrase's variants, generation 1 first (generation 0 is the
    phrase itself); ``operators``: the operators that made each."""

    variants: dict[tuple[str, str], tuple[str, ...]]
    operators: dict[tuple[str, str], tuple[str, ...]]

    @classmethod
    def make(cls, phrases: Iterable[tuple[str, str]], language: str, generations: int, seed: int = 0,
             operators_per_variant: int = 1) -> Lineage:
        """Chains of ``generations`` variants of each ``(campaign, phrase)``."""
        variants, operators = {}, {}
        for campaign, phrase in sorted(set(phrases)):
            chain, used = variant_chain(phrase, language, generations, keyed_rng(seed, campaign, phrase),
                                        operators_per_variant)
            variants[campaign, phrase], operators[campaign, phrase] = chain, used
        return cls(variants, operators)

    def wording(self, campaign: str, phrase: str, generation: int) -> str:
        """The phrase as the campaign writes it at ``generation`` (0: the phrase itself)."""
        return phrase if generation == 0 else self.variants[campaign, phrase][generation - 1]

    def as_records(self) -> list[dict]:
        """The record as rows: campaign, core phrase, its variants and their operators."""
        return [{"campaign": c, "phrase": p, "variants": list(v), "operators": list(self.operators[c, p])}
                for (c, p), v in self.variants.items()]
