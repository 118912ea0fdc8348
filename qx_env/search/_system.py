"""The simulated search engine of the paper's Figure 1: retrieve candidates per mode, rank them by
risk, expose the top k; detected items can be removed from every mode at once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from indexes import HYBRID, GraphIndex, Index, ensure_indexes, reciprocal_rank_fusion, resolve_modes
from qx_env.errors import QxError
from qx_env.rankers import Ranker, make_ranker
from qx_env.search._settings import SearchSettings
from qx_env.snapshot import Snapshot
from qx_env.types import Hits

#: Default relevance cut-off of embedding retrieval: None means the encoder kind's own cosine cut-off
#: (``min_score`` in indexes._encoders, measured per encoder by benchmarks.encoders; 0.5 for n-gram).
EMBEDDING_MIN_SCORE: float | None = None

__all__ = ["EMBEDDING_MIN_SCORE", "HYBRID", "SearchSystem", "resolve_modes"]


class SearchSystem:
    """Retrieval (``modes``, fused by reciprocal rank fusion when several) -> ranking
    (``ranker``: a spec such as ``retrieval``, ``risk``, ``oracle:auc=0.9`` or
    ``lm:path=DIR``; see :mod:`qx_env.rankers`) -> the top ``k`` exposed.

    ``candidates`` live items are retrieved per mode. ``match`` is the keyword rule (``exact`` or
    ``bm25``); embedding hits below cosine ``embedding_min_score`` are not retrieved (a relevance
    cut-off, so unrelated neighbours are not exposed). ``build``: an index that is missing, damaged or
    built for another snapshot is (re)built in place with a warning naming what was wrong; with
    ``build=False`` it is refused, naming every such index and the command that builds them (the rule of
    :func:`indexes.ensure_indexes`). :meth:`remove` hides items from every mode in O(1) each;
    :meth:`restore` brings them all back without rebuilding anything.

    ``retrieval_cache``: a mapping shared by systems over one snapshot, so that what a mode retrieves for a
    query among the same live items is retrieved once (the suite gives each policy's evaluations one: its
    hybrid mode fuses the graph walks its graph mode made). Entries are keyed by everything the result
    depends on (the snapshot, the mode and its settings, the candidates, the query, the live items).
    """

    def __init__(self, snapshot: Snapshot, modes: str | Sequence[str] = ("keyword",), k: int = 100,
                 candidates: int | None = None, ranker: str | Ranker = "retrieval", match: str = "exact",
                 build: bool = True, progress: bool = False, ranker_options: dict[str, Any] | None = None,
                 embedding_min_score: float | None = EMBEDDING_MIN_SCORE,
                 retrieval_cache: MutableMapping[tuple, Hits] | None = None) -> None:
        #: The settings, checked in one place (:class:`SearchSettings`); candidates None: the larger of k and 1,000.
        self.settings = SearchSettings(modes=modes, k=k, candidates=candidates, match=match, build=build,
                                       ranker=ranker if isinstance(ranker, str) else ranker.name,
                                       embedding_min_score=embedding_min_score)
        self.snapshot = snapshot
        self.alive = np.ones(len(snapshot), dtype=bool)
        options = {"keyword": {"match": match}, "embedding": {"min_score": embedding_min_score},
                   "graph": {"seed_mask": self.alive}}  # removed items seed nothing
        self.indexes: dict[str, Index] = ensure_indexes(snapshot, self.modes, build=build, progress=progress,
                                                        options=options)
        graph = self.indexes.get("graph")
        #: Whether retrieval seeds the graph with its own keyword and embedding hits (same result, one
        #: search per mode; see GraphIndex.can_reuse): fixed by the modes, candidates and indexes.
        self._graph_reuses_hits = "graph" in self.modes and isinstance(graph, GraphIndex) and graph.can_reuse(
            {m: self.indexes[m] for m in self.modes if m != "graph"}, self.candidates)
        self.ranker = ranker if isinstance(ranker, Ranker) else make_ranker(ranker, snapshot, **(ranker_options or {}))
        self._risk = self.ranker.scores()
        self.retrieval_cache = retrieval_cache
        self._cache_scope = snapshot.items_fingerprint if retrieval_cache is not None else ""

    @classmethod
    def from_settings(cls, snapshot: Snapshot, settings: SearchSettings, progress: bool = False,
                      **options: Any) -> SearchSystem:
        """The system of ``settings`` over ``snapshot`` (``options``: ``ranker`` as an object, ``ranker_options``)."""
        return cls(snapshot, progress=progress, **{**asdict(settings), **options})

    # ---- the settings' values, read from the one copy ------------------------------------------
    @property
    def modes(self) -> tuple[str, ...]:
        return self.settings.modes

    @property
    def k(self) -> int:
        return self.settings.k

    @property
    def candidates(self) -> int:
        """Items retrieved per mode (the settings' candidates, resolved)."""
        return self.settings.retrieved

    @property
    def match(self) -> str:
        return self.settings.match

    @property
    def embedding_min_score(self) -> float | None:
        return self.settings.embedding_min_score

    # ---- removal ------------------------------------------------------------------------------
    def remove(self, positions: Iterable[int] | np.ndarray) -> int:
        """Hide items from every mode; returns how many were live before."""
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions) and (positions.min() < 0 or positions.max() >= len(self.alive)):
            raise QxError(f"item positions must be in [0, {len(self.alive)})")
        newly = int(self.alive[positions].sum())
        self.alive[positions] = False
        return newly

    def revive(self, positions: Iterable[int] | np.ndarray) -> None:
        """Make items live again (a campaign re-posting a held-back variant)."""
        self.alive[np.asarray(positions, dtype=np.int64)] = True

    def restore(self) -> None:
        """Bring every removed item back."""
        self.alive[:] = True

    @property
    def removed(self) -> int:
        return int(len(self.alive) - np.count_nonzero(self.alive))  # count_nonzero: no int conversion of 1M bools

    # ---- search -------------------------------------------------------------------------------
    def retrieve(self, query: str) -> Hits:
        """Up to ``candidates`` live items, with the modes that found each."""
        alive = self.alive if self.removed else None
        cache = self.retrieval_cache
        live = self._live_digest() if cache is not None else b""
        results: dict[str, Hits] = {}
        for mode in self.modes:  # build order: the graph's seeders come before it
            key = None if cache is None else (self._cache_scope, *self._mode_settings(mode), self.candidates, query,
                                              live)
            hits = cache.get(key) if key is not None else None
            if hits is None:
                index = self.indexes[mode]
                if mode == "graph" and self._graph_reuses_hits:
                    assert isinstance(index, GraphIndex)
                    hits = index.search_related([results[s.mode] for s in index.seeders], self.candidates, alive)
                else:
                    hits = index.search(query, self.candidates, alive)
                if key is not None:
                    cache[key] = hits
            results[mode] = hits
        if len(results) == 1:
            (mode, hits), = results.items()
            return hits.found_by(mode)
        return reciprocal_rank_fusion(results, self.candidates)

    def _mode_settings(self, mode: str) -> tuple:
        """What a mode's retrieval depends on besides the query and the live items: the keyword rule, the
        embedding cut-off, and for the graph its seeders' (it walks from what they find)."""
        index = self.indexes[mode]
        own = {"keyword": (self.match,), "embedding": (self.embedding_min_score,)}
        if isinstance(index, GraphIndex):
            return (mode, *((s.mode, *own.get(s.mode, ())) for s in index.seeders))
        return (mode, *own.get(mode, ()))

    def _live_digest(self) -> bytes:
        """A digest of which items are live (the retrieval cache's key: the same query among other live
        items is retrieved again)."""
        return hashlib.blake2b(np.packbits(self.alive).tobytes(), digest_size=16).digest()

    def rank(self, candidates: Hits) -> Hits:
        """Order candidates by risk (ties by retrieval rank) and expose the top ``k``."""
        if self._risk is None or not len(candidates):
            return candidates.top(self.k)
        risk = self._risk[candidates.positions]
        order = np.lexsort((np.arange(len(candidates)), -risk))[: self.k]
        return Hits(candidates.positions[order], risk[order], candidates.modes[order])

    def search(self, query: str) -> Hits:
        """The exposed top ``k`` of one query among the live items."""
        return self.rank(self.retrieve(query))

    def expand(self, position: int) -> Hits:
        """Graph retrieval from one item (e.g. the reported one), ranked and exposed like a query."""
        graph = self.indexes.get("graph")
        if graph is None:
            raise QxError("expand needs the graph mode: SearchSystem(..., modes=('graph',)) or 'hybrid'")
        assert isinstance(graph, GraphIndex)
        hits = graph.expand(position, self.candidates, self.alive if self.removed else None)
        return self.rank(hits.found_by("graph"))

    def batch_search(self, queries: Sequence[str], threads: int = 2, processes: int = 0) -> list[Hits]:
        """Exposed results of many queries; single-mode retrieval runs on ``threads`` threads or in
        ``processes`` worker processes (see :meth:`indexes.Index.batch_search`)."""
        if len(self.modes) == 1 and self.modes[0] != "graph" and (threads > 1 or processes > 1):
            mode = self.modes[0]
            alive = self.alive if self.removed else None
            batch = self.indexes[mode].batch_search(queries, self.candidates, alive, threads=threads,
                                                    processes=processes)
            return [self.rank(h.found_by(mode)) for h in batch]
        return [self.search(q) for q in queries]
