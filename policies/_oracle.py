"""An upper bound, clearly marked: picks the candidate queries with the best search feedback by
looking at hidden labels. Never use its output as training data."""

from __future__ import annotations

from policies._base import Policy, register, require_snapshot
from policies._extractive import NgramPolicy, TfidfPolicy
from qx_env.snapshot import Snapshot


@register
class OraclePolicy(Policy):
    """For each text, searches up to ``pool`` candidates (rare n-grams and TF-IDF terms) and keeps
    the ``top`` that expose the most toxic items other than the text's own item."""

    name = "oracle"
    uses_labels = True

    def __init__(self, snapshot: Snapshot | None = None, top: int = 3, pool: int = 30, k: int = 100,
                 mode: str = "keyword") -> None:
        from qx_env.search import SearchSystem

        super().__init__(require_snapshot(snapshot, self.name))
        self.top, self.pool = top, pool
        self._ngram = NgramPolicy(snapshot, top=pool)
        self._tfidf = TfidfPolicy(snapshot, top=pool)
        self._system = SearchSystem(snapshot, modes=mode, k=k)
        self._text_positions: dict[str, list[int]] = {}
        for position, text in enumerate(snapshot.texts):
            self._text_positions.setdefault(text, []).append(position)

    def extract(self, texts: list[str]) -> list[list[str]]:
        labels = self.snapshot.labels
        out = []
        for text in texts:
            pool = list(dict.fromkeys([g for g, _ in self._ngram.ranked(text)[: self.pool]]
                                      + self._tfidf.extract([text])[0]))
            own = set(self._text_positions.get(text, []))
            scored = []
            for query, hits in zip(pool, self._system.batch_search(pool)):
                toxic = [p for p in hits.positions[labels[hits.positions] == 1].tolist() if p not in own]
                if toxic:
                    scored.append((len(toxic), query))
            scored.sort(key=lambda item: (-item[0], item[1]))
            out.append([query for _, query in scored[: self.top]])
        return out

    def candidates(self, text: str, n: int) -> list[list[str]]:
        return [[q] for q in self.extract([text])[0][:n]] or [[]]
