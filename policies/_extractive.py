"""Extractive baselines of the paper and beyond: replayed annotations (the paper's "Human"),
TF-IDF terms (jieba for Chinese), rare contiguous n-grams, and TextRank keywords."""

from __future__ import annotations

import itertools
import math
from collections import Counter

from policies._base import Policy, register, require_snapshot
from policies._text import _jieba, ngrams, tokens
from qx_env.errors import QxError
from qx_env.snapshot import Snapshot


@register
class AnnotationPolicy(Policy):
    """Replays the auditors' annotated phrases stored with each report (the paper's Human)."""

    name = "annotation"

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        super().__init__(require_snapshot(snapshot, self.name))
        texts = snapshot.report_texts()
        annotations = snapshot.reports.column("annotations").to_pylist()
        self._by_text: dict[str, list[str]] = {}
        for text, phrases in zip(texts, annotations):
            self._by_text.setdefault(text, list(phrases))

    def extract(self, texts: list[str]) -> list[list[str]]:
        return [list(self._by_text.get(text, [])) for text in texts]


@register
class TfidfPolicy(Policy):
    """The top ``top`` terms of a text by TF-IDF, with document frequencies from the snapshot."""

    name = "tfidf"

    def __init__(self, snapshot: Snapshot | None = None, top: int = 3) -> None:
        super().__init__(require_snapshot(snapshot, self.name))
        self.top, self.language = top, snapshot.language
        frequency: Counter[str] = Counter()
        for text in snapshot.texts:
            frequency.update(set(tokens(text, self.language)))
        self._documents = len(snapshot)
        self._frequency = frequency

    def idf(self, term: str) -> float:
        return math.log((1 + self._documents) / (1 + self._frequency.get(term, 0))) + 1

    def extract(self, texts: list[str]) -> list[list[str]]:
        out = []
        for text in texts:
            counts = Counter(tokens(text, self.language))
            order = sorted(counts, key=lambda t: (-counts[t] * self.idf(t), t))
            out.append(order[: self.top])
        return out


@register
class NgramPolicy(Policy):
    """Contiguous n-grams of the report ranked by how rare they are in the corpus: the rarest that
    still occur in ``min_df`` items or more (so in some item besides the report), longer first on
    ties, skipping n-grams that overlap one already chosen. Counts come from the keyword index."""

    name = "ngram"

    def __init__(self, snapshot: Snapshot | None = None, top: int = 3, min_n: int = 2, max_n: int = 6,
                 min_df: int = 2) -> None:
        from indexes import KeywordIndex

        super().__init__(require_snapshot(snapshot, self.name))
        if min_n > max_n:
            raise QxError(f"policy 'ngram': min_n ({min_n}) must not exceed max_n ({max_n})")
        self.top, self.min_df = top, min_df
        self.sizes = range(min_n, max_n + 1) if snapshot.language == "zh" else range(1, min(max_n, 4) + 1)
        self._index = KeywordIndex.open(snapshot, match="exact")

    def ranked(self, text: str) -> list[tuple[str, int]]:
        """Every candidate n-gram with its document frequency, best first."""
        counts = [(gram, self._index.count(gram)) for gram in ngrams(text, self.snapshot.language, self.sizes)]
        counts = [(gram, df) for gram, df in counts if df >= self.min_df]
        return sorted(counts, key=lambda item: (item[1], -len(item[0]), item[0]))

    def extract(self, texts: list[str]) -> list[list[str]]:
        out = []
        for text in texts:
            chosen: list[str] = []
            covered = [False] * len(text)
            lowered = text.lower()
            for gram, _ in self.ranked(text):
                start = lowered.find(gram)
                span = range(start, start + len(gram)) if start >= 0 else range(0)
                if any(covered[i] for i in span) or any(gram in c or c in gram for c in chosen):
                    continue  # overlaps a phrase already chosen
                chosen.append(gram)
                for i in span:
                    covered[i] = True
                if len(chosen) == self.top:
                    break
            out.append(chosen)
        return out

    def candidates(self, text: str, n: int) -> list[list[str]]:
        """Alternatives: the best n-grams taken one at a time."""
        return [[gram] for gram, _ in self.ranked(text)[:n]]


@register
class TextRankPolicy(Policy):
    """TextRank keywords: jieba's implementation for Chinese; for English the same co-occurrence
    graph (window 2) ranked by networkx PageRank."""

    name = "textrank"

    def __init__(self, snapshot: Snapshot | None = None, top: int = 3, language: str = "") -> None:
        super().__init__(snapshot)
        self.top = top
        self.language = language or (snapshot.language if snapshot is not None else "zh")

    def extract(self, texts: list[str]) -> list[list[str]]:
        if self.language == "zh":
            import jieba.analyse

            _jieba()
            return [jieba.analyse.textrank(text, topK=self.top) for text in texts]
        return [self._english(text) for text in texts]

    def _english(self, text: str) -> list[str]:
        import networkx as nx

        words = tokens(text, "en")
        graph = nx.Graph()
        graph.add_nodes_from(words)
        graph.add_edges_from((a, b) for a, b in itertools.pairwise(words) if a != b)
        if not graph:
            return []
        rank = nx.pagerank(graph)
        return sorted(rank, key=lambda w: (-rank[w], w))[: self.top]
