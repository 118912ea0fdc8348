"""Base surface noise of listings: emoji, symbols, Latin runs, traditional characters, spaces between
Han characters and repeated punctuation, at the rates measured on real benign text.

Real benign text carries all of these (``vocab/noise.json``, measured by
:mod:`qx_env.corpus.synth._noise_rates` on online_shopping_10_cats, COLD label 0 and fbs_sms AD/Other).
Without them only the camouflage operators of toxic campaigns put such marks in a listing, and a
character n-gram classifier reads the label off them. The sampler adds the same base noise to every
listing, normal, hard-negative and toxic alike; a toxic listing differs only by its campaign's
disguise on top (its risk phrases and contact), which the sampler never touches.

Mechanism per feature: a listing carries the feature with the measured per-text rate; when it does
and its template text has none yet, the sampler adds occurrences, their number 1 + geometric with
the measured mean per text, their forms drawn from the measured inventory (most frequent emoji,
symbols, Latin tokens, repeated punctuation of the real benign texts, by frequency). The sampler has
its own random stream (like :class:`~qx_env.corpus.synth._tags.TagSampler`), so it changes no other
property of a snapshot.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Sequence
from functools import cache
from importlib import resources

from qx_env.corpus.synth._noise_rates import DETECTORS

#: Features the sampler adds, per language. zh: all of the measured surface features that a template
#: does not already carry as content (digits, handles and URLs are content: prices and shop contacts).
#: en (sms_spam_collection_uci ham): Latin runs are the language itself, and traditional characters
#: and Han spacing do not apply; emoji measured 0 of 4,827 ham texts, so only symbols and repeated
#: punctuation are added.
FEATURES = {
    "zh": ("emoji", "symbol", "latin", "traditional", "cjk_space", "repeated_punct"),
    "en": ("symbol", "repeated_punct"),
}
#: Paired brackets: a symbol draw of one of these wraps a whole piece (【全新】).
_PAIRS = {"【": "】", "「": "」", "『": "』", "〖": "〗", "〔": "〕", "<": ">", "＜": "＞"}
_CLOSERS = set(_PAIRS.values())


@cache
def noise_rates() -> dict:
    """The content of ``vocab/noise.json`` (``rates``: the measurement and its sources)."""
    text = resources.files("qx_env.corpus.synth").joinpath("vocab/noise.json").read_text(encoding="utf-8")
    return json.loads(text)["rates"]


def benign_rates(language: str) -> dict[str, dict]:
    """Measured per-text rates of real benign text in ``language`` (see ``noise.json``)."""
    return noise_rates()[language]["benign"]


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


class NoiseSampler:
    """Adds base noise to a listing's pieces in place; ``scale`` multiplies every rate (0: none)."""

    def __init__(self, language: str, seed: int, scale: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.language = language
        measured = benign_rates(language)
        self.rates = {f: min(1.0, scale * measured[f]["rate"]) for f in FEATURES[language]}
        self.per_text = {f: max(1.0, measured[f]["per_text"]) for f in FEATURES[language]}
        self.inventory: dict[str, tuple[list[str], list[float]]] = {}
        for feature in FEATURES[language]:
            forms = measured[feature].get("inventory", {})
            if feature == "latin":  # single letters are units after a number (1G, 5m), not tokens
                forms = {w: c for w, c in forms.items() if len(w) >= 2}
            if feature == "symbol":
                forms = {s: c for s, c in forms.items() if s not in _CLOSERS}
            if forms:
                self.inventory[feature] = (list(forms), list(itertools.accumulate(forms.values())))

    def _count(self, feature: str) -> int:
        """1 + geometric with mean ``per_text - 1``."""
        extra = self.per_text[feature] - 1
        if extra <= 0:
            return 1
        return 1 + int(math.log(1.0 - self.rng.random()) / math.log(extra / (1 + extra)))

    def _form(self, feature: str) -> str:
        forms, cumulative = self.inventory[feature]
        return self.rng.choices(forms, cum_weights=cumulative)[0]

    def apply(self, pieces: list[str], seps: list[str], protected: Sequence[bool]) -> list[str]:
        """Add noise to ``pieces`` (not the ``protected`` ones) and ``seps`` (the text after each
        piece); returns the features added."""
        rng = self.rng
        open_pieces = [i for i, p in enumerate(protected) if not p and pieces[i]]
        added = []
        for feature, rate in self.rates.items():
            if rng.random() >= rate or not open_pieces:
                continue
            text = "".join(p + s for p, s in zip(pieces, seps))
            if DETECTORS[feature](text, False):
                continue  # the template already has it
            for _ in range(self._count(feature)):
                self._add(feature, pieces, seps, open_pieces)
            added.append(feature)
        return added

    def _insert(self, piece: str, form: str, end_share: float = 0.5) -> str:
        if self.rng.random() < end_share or len(piece) < 2:
            return piece + form
        i = self.rng.randrange(1, len(piece))
        return piece[:i] + form + piece[i:]

    def _add(self, feature: str, pieces: list[str], seps: list[str], open_pieces: list[int]) -> None:
        rng = self.rng
        i = rng.choice(open_pieces)
        if feature == "emoji":
            pieces[i] = self._insert(pieces[i], self._form(feature))
        elif feature == "symbol":
            form = self._form(feature)
            if form in _PAIRS:
                pieces[i] = form + pieces[i] + _PAIRS[form]
            else:
                pieces[i] = self._insert(pieces[i], form)
        elif feature == "latin":
            form = self._form(feature)
            pieces[i] = self._insert(pieces[i], form, end_share=0.3)
        elif feature == "traditional":  # a piece written (or pasted) in traditional characters
            from qx_env.corpus.synth._camouflage import traditional

            for i in rng.sample(open_pieces, k=len(open_pieces)):
                converted = traditional(pieces[i], rng)
                if converted != pieces[i]:
                    pieces[i] = converted
                    break
        elif feature == "cjk_space":
            for j in rng.sample(open_pieces, k=len(open_pieces)):  # a random piece with a Han pair
                piece = pieces[j]
                gaps = [k for k in range(1, len(piece)) if _is_han(piece[k - 1]) and _is_han(piece[k])]
                if gaps:
                    k = rng.choice(gaps)
                    pieces[j] = piece[:k] + " " + piece[k:]
                    break
        elif feature == "repeated_punct":
            seps[i] = self._form(feature)
