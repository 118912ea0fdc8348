"""Extractive baselines of the paper and beyond: replayed annotations (the paper's "Human"),
TF-IDF terms (jieba for Chinese), rare contiguous n-grams, and TextRank keywords."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from pathlib import Path

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


#: The document frequencies counted last, by the snapshot's items fingerprint: a million listings take
#: minutes to segment (jieba), and the oracle fits its own TF-IDF beside the tfidf policy.
_frequencies: dict[str, Counter[str]] = {}
#: Where a saved snapshot keeps its counted document frequencies (one file per language), so later runs
#: (the suite, the fidelity bench, the oracle) read them instead of segmenting every listing again.
FREQUENCIES_FILE = "policies/tfidf-document-frequencies-{language}.json"


def _read_frequencies(path: Path, fingerprint: str) -> Counter[str] | None:
    """The counts kept at ``path`` for these items, or None (missing, damaged or of other items: counted again)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("items_fingerprint") != fingerprint:
        return None
    counts = kept.get("frequencies")
    return Counter(counts) if isinstance(counts, dict) else None


def document_frequencies(snapshot: Snapshot) -> Counter[str]:
    """How many items each content word occurs in (:func:`tokens`): counted once per saved snapshot, kept
    beside it (:data:`FREQUENCIES_FILE`, tied to its items fingerprint) and in memory."""
    from qx_env.files import write_text_atomic

    if snapshot.path is None:
        return _count_frequencies(snapshot)
    key = f"{snapshot.items_fingerprint}/{snapshot.language}"
    if key in _frequencies:
        return _frequencies[key]
    path = snapshot.path / FREQUENCIES_FILE.format(language=snapshot.language)
    frequency = _read_frequencies(path, snapshot.items_fingerprint)
    if frequency is None:
        frequency = _count_frequencies(snapshot)
        try:
            write_text_atomic(path, json.dumps({"items_fingerprint": snapshot.items_fingerprint,
                                                "frequencies": dict(sorted(frequency.items()))}, ensure_ascii=False))
        except OSError:  # a read-only snapshot: counted again next time
            pass
    _frequencies.clear()  # one snapshot's counts held at a time
    _frequencies[key] = frequency
    return frequency


def _count_frequencies(snapshot: Snapshot) -> Counter[str]:
    from tqdm.auto import tqdm

    frequency: Counter[str] = Counter()
    for text in tqdm(snapshot.text_column, desc="tfidf: document frequencies", unit="text", disable=len(snapshot) < 100_000):
        frequency.update(set(tokens(text, snapshot.language)))
    return frequency


@register
class TfidfPolicy(Policy):
    """The top ``top`` terms of a text by TF-IDF, with document frequencies from the snapshot."""

    name = "tfidf"

    def __init__(self, snapshot: Snapshot | None = None, top: int = 3) -> None:
        super().__init__(require_snapshot(snapshot, self.name))
        self.top, self.language = top, snapshot.language
        self._documents = len(snapshot)
        self._frequency = document_frequencies(snapshot)

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
