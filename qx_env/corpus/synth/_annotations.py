"""Auditor annotations of a reported listing, reproducing the paper's Table 1 observations:
most marked phrases are good queries, some are too verbose to match anything else, some are
too broad and expose many normal listings, some mark a contact handle or a seller's pattern."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qx_env.corpus.synth._generator import Listing
    from qx_env.corpus.synth._vocabulary import Vocabulary

#: How often an auditor marks each kind of phrase.
KIND_WEIGHTS = {"good": 0.4, "verbose": 0.25, "broad": 0.25, "pattern": 0.1}
#: Share of reports the auditor leaves without any marked phrase.
EMPTY_SHARE = 0.05


@dataclass(frozen=True)
class Annotation:
    phrases: list[str]
    kinds: list[str]


def _verbose(text: str, phrase: str, language: str, rng: random.Random) -> str:
    """A long span around ``phrase``: it matches the reported listing and little else."""
    start = text.find(phrase)
    if start < 0:
        return text[: min(len(text), 40)].strip()
    if language == "zh":
        begin = max(0, start - rng.randint(4, 12))
        end = min(len(text), start + len(phrase) + rng.randint(8, 20))
        return text[begin:end].strip()
    words_before = text[:start].split()[-rng.randint(2, 4):]
    words_after = text[start + len(phrase):].split()[: rng.randint(3, 6)]
    return " ".join([*words_before, phrase, *words_after]).strip()


def _broad(listing: Listing, vocab: Vocabulary, rng: random.Random) -> str:
    violation = next(v for v in vocab.violations if v.id == listing.violation)
    present = [t for t in violation.broad_terms if t in listing.text]
    if present:
        return rng.choice(present)
    products = [p for p in vocab.category(listing.category).products if p in listing.text]
    if products:
        return rng.choice(products)
    return listing.risk_phrases[0][:2]


def annotate(listing: Listing, vocab: Vocabulary, rng: random.Random) -> Annotation:
    """Mark 0-3 phrases of a reported toxic listing, each a substring of its text where possible."""
    if rng.random() < EMPTY_SHARE:
        return Annotation([], [])
    count = 1 + sum(rng.random() < 0.3 for _ in range(2))
    phrases: list[str] = []
    kinds: list[str] = []
    for _ in range(count):
        kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
        if kind == "good":
            phrase = rng.choice(listing.risk_phrases)
        elif kind == "verbose":
            phrase = _verbose(listing.text, rng.choice(listing.risk_phrases), vocab.language, rng)
        elif kind == "broad":
            phrase = _broad(listing, vocab, rng)
        else:
            options = [listing.contact] if listing.contact else list(listing.contexts)
            phrase = rng.choice(options) if options else rng.choice(listing.risk_phrases)
        phrase = phrase.strip()
        if phrase and phrase not in phrases:
            phrases.append(phrase)
            kinds.append(kind)
    return Annotation(phrases, kinds)
