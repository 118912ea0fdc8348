"""Everyday words of listings: the words real users write whatever they sell (没有, 可以, 微信, 快递,
好吃, 谢谢...), at the document rates measured on real text.

The templates of the marketplace write products, conditions, prices and shipping terms, and few of
the words real text is made of: in 20,000 synthetic listings without everyday words, 428 of the 1,000
most common words of real benign text occurred at all and 184 within a factor 3 of their real rate
(with them: 850 and 751) (``vocab/everyday.json``, measured by
:mod:`qx_env.corpus.synth._everyday_rates`). Real toxic texts use those words too, so planted into
such a background a real toxic text is found by any everyday word it carries.

Mechanism: each listing speaks like one of the measured corpora, drawn in proportion to their texts
(benign: online_shopping_10_cats reviews, COLD comments, fbs_sms ads, for normal and hard-negative
listings; toxic: chineseharm_bench violations, fbs_sms IL/FR, for toxic ones), so words co-occur as
they do within a genre (您好, 回复 and 优惠 together, as in SMS ads) and the pooled rate is kept. The
listing then carries each word with that corpus's document rate ``r``: the templates already write it
in a share ``b`` of listings (the stored synthetic base rate), so the sampler adds it, as a piece of
its own, with probability ``(r - b) / (1 - b)`` (nothing where ``b >= r``), times the listing's length
over the mean length: in real benign text the number of everyday words grows with the text's length
(Pearson 0.90 on 2,000 texts), and without it every listing carried 5 or more of them (real: 10% carry
at most one). The factor averages 1, so the rate is kept. The sampler has its own
random stream, so ``everyday_scale=0`` gives exactly the listings made without it; English has no
measurement and gets no words.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import numpy as np

#: Roles whose measured rates a listing follows: benign for normal and hard-negative listings.
ROLES = ("benign", "toxic")


@cache
def everyday_words(language: str = "zh") -> tuple[dict, ...]:
    """The entries of ``vocab/everyday.json`` (word, group, source, measured and base rates); none for en."""
    if language != "zh":
        return ()
    path = resources.files("qx_env.corpus.synth").joinpath("vocab/everyday.json")
    return tuple(json.loads(path.read_text(encoding="utf-8"))["words"])


@cache
def everyday_sources() -> dict[str, dict]:
    """The measured corpora of ``vocab/everyday.json``: file -> role and number of texts."""
    path = resources.files("qx_env.corpus.synth").joinpath("vocab/everyday.json")
    return json.loads(path.read_text(encoding="utf-8"))["sources"]


def source_shares(role: str, sources: dict[str, dict] | None = None) -> dict[str, float]:
    """Share of each corpus of ``role`` by its texts: the chance that a listing speaks like it."""
    sources = everyday_sources() if sources is None else sources
    texts = {name: s["texts"] for name, s in sources.items() if s["role"] == role}
    total = sum(texts.values())
    return {name: n / total for name, n in texts.items()}


def mean_probability(entry: dict, role: str, base: float, sources: dict[str, dict] | None = None) -> float:
    """The added probability of ``entry``'s word averaged over the corpora of ``role``."""
    return sum(share * insert_probability(entry["by_source"][name], base)
               for name, share in source_shares(role, sources).items())


def insert_probability(rate: float, base: float) -> float:
    """Chance to add a word so that a listing carries it with ``rate`` when the template already
    writes it with ``base`` (independently): ``(rate - base) / (1 - base)``, at least 0."""
    if base >= rate or base >= 1:
        return 0.0
    return (rate - base) / (1 - base)


class EverydaySampler:
    """Draws the everyday words of a listing; ``scale`` multiplies every added probability (0: none)."""

    def __init__(self, language: str, seed: int, scale: float = 1.0) -> None:
        self.rng = np.random.default_rng(seed)
        entries = everyday_words(language) if scale > 0 else ()
        self.words = [e["word"] for e in entries]
        #: role -> (corpus shares, per corpus the added probability of each word)
        self.sources: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for role in ROLES if entries else ():
            shares = source_shares(role)
            self.sources[role] = (np.array(list(shares.values())), np.array(
                [[min(1.0, scale * insert_probability(e["by_source"][name], e["synth_base"][role])) for e in entries]
                 for name in shares], dtype=np.float64))

    def insert(self, pieces: list[str], role: str, length_factor: float = 1.0) -> None:
        """Insert the drawn words into ``pieces`` (after the first, the title), each a piece of its own;
        ``length_factor``: the listing's length over the mean (multiplies each probability)."""
        if not self.words:
            return
        shares, probability = self.sources[role]
        source = int(self.rng.choice(len(shares), p=shares))
        drawn = np.flatnonzero(self.rng.random(len(self.words)) < probability[source] * length_factor)
        for index in self.rng.permutation(drawn):
            pieces.insert(int(self.rng.integers(1, len(pieces) + 1)), self.words[index])
