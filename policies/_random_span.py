"""The floor of every policy table: random spans of the report, as long as the auditors' phrases are."""

from __future__ import annotations

import hashlib

import numpy as np

from policies._base import Policy, register, require_snapshot
from qx_env.snapshot import Snapshot

#: Span lengths when the snapshot's train reports carry no annotations (composed corpora): Chinese
#: characters 2-6 and English words 1-3, the range of the synthetic auditors' phrases.
FALLBACK_LENGTHS = {"zh": (2, 3, 4, 5, 6), "en": (1, 2, 3)}


def span_length(phrase: str, language: str) -> int:
    """A phrase's length in the unit spans are drawn in: characters for Chinese, words for English."""
    return len(phrase.split()) if language == "en" else len(phrase)


@register
class RandomSpanPolicy(Policy):
    """``top`` spans of the report text at random positions, each as long as an annotation drawn from the
    train reports' annotated phrases (characters for Chinese, words for English): a query with the
    auditors' shape but no judgment. Each text's spans depend only on the text and ``seed``."""

    name = "random-span"

    def __init__(self, snapshot: Snapshot | None = None, top: int = 3, seed: int = 0) -> None:
        super().__init__(require_snapshot(snapshot, self.name))
        self.top, self.seed, self.language = top, seed, snapshot.language
        train = snapshot.reports_in("train").column("annotations").to_pylist()
        lengths = [span_length(p, self.language) for phrases in train for p in phrases if p.strip()]
        self.lengths = np.array([n for n in lengths if n > 0] or FALLBACK_LENGTHS[self.language], dtype=np.int64)

    def _rng(self, text: str) -> np.random.Generator:
        digest = hashlib.sha256(f"{self.seed}\0{text}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def extract(self, texts: list[str]) -> list[list[str]]:
        return [self._spans(text) for text in texts]

    def _spans(self, text: str) -> list[str]:
        units = text.split() if self.language == "en" else list(text)
        if not units:
            return []
        rng, joiner = self._rng(text), " " if self.language == "en" else ""
        spans: list[str] = []
        for _ in range(4 * self.top):  # a few redraws for spans that are blank or repeated
            if len(spans) == self.top:
                break
            size = min(int(rng.choice(self.lengths)), len(units))
            start = int(rng.integers(0, len(units) - size + 1))
            span = joiner.join(units[start:start + size]).strip()
            if span and span not in spans:
                spans.append(span)
        return spans
