"""Graph retrieval: an item graph (scipy CSR, networkx through :meth:`GraphIndex.to_networkx`)
expanded by personalized PageRank.

Items link to the sellers who posted them and to the contact handles found in their texts
(WeChat/QQ ids, phone numbers, URLs), and to their near-duplicates (cosine similarity of the
embedding vectors). A query seeds the walk only on the items it matched (its keyword and embedding
hits, each above its own mode's relevance rule): a query that matches nothing retrieves nothing.
:meth:`expand` seeds it on one item (a reported one). PageRank runs as a local forward push
(:mod:`indexes._pagerank`), and an item is retrieved only when its score reaches
:data:`MIN_RELATIVE_SCORE` of an average seed's own restart share, so a query exposes the items
related to what it matched, not k items whatever it matched.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import networkx as nx
import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from indexes._base import Index, clean_query
from indexes._fusion import RRF_K
from indexes._pagerank import DAMPING, PushGraph, forward_push
from qx_env.errors import IndexDataError
from qx_env.snapshot import Snapshot
from qx_env.types import Hits

GRAPH_FILE = "graph.npz"
ENTITIES_FILE = "entities.json"
#: Contact handles: URLs, long digit runs (QQ, phone), and letter+digit ids (WeChat-style).
HANDLE_PATTERN = re.compile(
    r"(?:https?://)?(?:[a-z0-9-]+\.)+(?:com|cn|net|cc|vip|top|xyz|me|io|org)(?:/[\w./-]*)?"
    r"|(?<![\dA-Za-z])[A-Za-z_]{0,12}\d{6,}(?![\d])"
)
SEEDS_PER_MODE = 20
#: Near-duplicates are found exactly up to this many items, approximately (IVF) above.
EXACT_DUPLICATES_UP_TO = 50_000
#: IVF lists probed per item in the approximate near-duplicate search.
DUPLICATE_PROBES = 8
#: Relevance cut-off: an item must score at least this share of an average seed's own restart
#: share ((1 - damping) / seeds). With one seed of two relations, an item reached through a shop
#: or handle of d listings scores about 0.36 / d of that share, so relations through entities of
#: up to ~36 listings are retrieved, larger shops only through several or stronger links (a big
#: shop's other listings are not "related" to a query because one of them matched).
MIN_RELATIVE_SCORE = 0.01
#: Push tolerance as a share of the cut-off: estimates fall short of the exact PageRank by at most
#: tolerance x degree, a twentieth of the cut-off for an item with one link.
PUSH_TOLERANCE_SHARE = 0.05


def _neighbour_index(vectors: np.ndarray):
    """A faiss inner-product index over ``vectors`` for the near-duplicate search: flat (exact)
    for small corpora, else IVF-flat with sqrt(n)-scaled lists, trained on a seeded sample (same
    vectors, same index). Near-duplicates at cosine >= 0.9 lie in the same or an adjacent list,
    so a few probed lists find them."""
    import faiss

    n, dim = vectors.shape
    if n <= EXACT_DUPLICATES_UP_TO:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index
    lists = int(4 * np.sqrt(n))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(n, size=min(n, 64 * lists), replace=False)
    index.cp.seed = 0
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    index.nprobe = DUPLICATE_PROBES
    return index


def _live_top(hits: Hits, k: int, alive: np.ndarray | None) -> Hits:
    """The top ``k`` of ``hits`` among the live items (``alive`` None: every item)."""
    return (hits if alive is None else hits.where(alive)).top(k)


def contact_handles(text: str) -> list[str]:
    """Contact handles in a text, lower-cased (e.g. ``jakh55927031``, ``2968993533``)."""
    return sorted({m.group(0).lower().rstrip("./") for m in HANDLE_PATTERN.finditer(text)})


class GraphIndex(Index):
    """Item graph (items, seller and handle nodes) as a column-stochastic scipy matrix."""

    mode: ClassVar[str] = "graph"

    def __init__(self, snapshot: Snapshot, directory: Path, meta: dict[str, Any], adjacency: sp.csr_array,
                 entities: list[str], seeders: Sequence[Index] = (), seed_mask: np.ndarray | None = None) -> None:
        super().__init__(snapshot, directory, meta)
        self.adjacency = adjacency
        self.entities = entities
        self._push_graph = PushGraph.from_adjacency(adjacency)
        self.seeders = list(seeders)
        #: Live items (shared with a SearchSystem); removed items seed nothing.
        self.seed_mask = seed_mask

    @classmethod
    def _build(cls, snapshot: Snapshot, directory: Path, progress: bool, vectors: np.ndarray | None = None,
               duplicate_threshold: float = 0.9, duplicate_neighbours: int = 5, **_: Any) -> dict:
        """The graph as edge arrays straight into scipy (a networkx graph of a million items took
        several GiB to build; :meth:`to_networkx` gives the same graph as networkx)."""
        n = len(snapshot)
        entity_ids: dict[str, int] = {}  # entity name -> number, in order of first appearance
        linked_items, linked_entities = array("q"), array("q")

        def link(item: int, entity: str) -> None:
            linked_items.append(item)
            linked_entities.append(entity_ids.setdefault(entity, len(entity_ids)))

        sellers = snapshot.items.column("seller_id").to_pylist()
        for item, (text, seller) in enumerate(tqdm(zip(snapshot.texts, sellers), total=n,
                                                   desc="graph: sellers and handles", disable=not progress)):
            if seller:
                link(item, f"seller:{seller}")
            for handle in contact_handles(text):
                link(item, f"handle:{handle}")
        duplicates = cls._near_duplicates(snapshot, vectors, duplicate_threshold, duplicate_neighbours, progress)
        items, entities = np.frombuffer(linked_items, np.int64), np.frombuffer(linked_entities, np.int64)
        # Entities seen on one item only link nothing: dropped; the others are numbered after the items.
        kept = np.bincount(entities, minlength=len(entity_ids)) >= 2
        node_of = np.where(kept, n + np.cumsum(kept) - 1, -1)
        items, nodes = items[kept[entities]], node_of[entities[kept[entities]]]
        sources = np.concatenate([items, nodes, duplicates[:, 0], duplicates[:, 1]])
        targets = np.concatenate([nodes, items, duplicates[:, 1], duplicates[:, 0]])
        size = n + int(kept.sum())
        adjacency = sp.csr_array((np.ones(len(sources), np.float32), (sources, targets)), shape=(size, size))
        adjacency.sum_duplicates()
        sp.save_npz(directory / GRAPH_FILE, adjacency)
        names = np.array(list(entity_ids), dtype=object)[kept].tolist() if entity_ids else []
        (directory / ENTITIES_FILE).write_text(json.dumps(names, ensure_ascii=False))
        return {"items": n, "entities": len(names), "edges": len(items) + len(duplicates),
                "duplicate_edges": len(duplicates), "duplicate_threshold": duplicate_threshold}

    @staticmethod
    def _near_duplicates(snapshot: Snapshot, vectors: np.ndarray | None, threshold: float, neighbours: int,
                         progress: bool) -> np.ndarray:
        """Pairs ``(a, b)``, ``a < b``, ascending, of items whose vectors have cosine >= ``threshold``
        among each item's ``neighbours`` nearest: exact (flat) up to :data:`EXACT_DUPLICATES_UP_TO`
        items, an IVF index above (all-pairs search grows with n^2: 1h43m projected at 1M items)."""
        from indexes._encoders import NgramSvdEncoder

        if vectors is None:
            texts = snapshot.texts
            vectors = NgramSvdEncoder.fit(texts).encode(texts)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = _neighbour_index(vectors)
        pairs = []
        for start in tqdm(range(0, len(vectors), 10_000), desc="graph: near duplicates", disable=not progress):
            scores, ids = index.search(vectors[start:start + 10_000], neighbours + 1)
            rows, cols = np.nonzero((scores >= threshold) & (ids >= 0))
            a, b = start + rows.astype(np.int64), ids[rows, cols].astype(np.int64)
            pairs.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)[a != b])
        found = np.concatenate(pairs) if pairs else np.empty((0, 2), np.int64)
        return np.unique(found, axis=0)

    @classmethod
    def _open(cls, snapshot: Snapshot, directory: Path, meta: dict, seeders: Sequence[Index] = (),
              seed_mask: np.ndarray | None = None, **_: Any) -> GraphIndex:
        adjacency = sp.csr_array(sp.load_npz(directory / GRAPH_FILE))
        entities = json.loads((directory / ENTITIES_FILE).read_text(encoding="utf-8"))
        if adjacency.shape[0] != len(snapshot) + len(entities):
            raise IndexDataError(f"the graph at {directory} does not match the snapshot's {len(snapshot)} items")
        return cls(snapshot, directory, meta, adjacency, entities, seeders, seed_mask)

    def to_networkx(self) -> nx.Graph:
        """The item graph as networkx (items are 0..n-1, then ``seller:``/``handle:`` nodes)."""
        graph = nx.from_scipy_sparse_array(self.adjacency)
        nx.relabel_nodes(graph, {self.size + i: name for i, name in enumerate(self.entities)}, copy=False)
        return graph

    # ---- searching ----------------------------------------------------------------------------
    def pagerank(self, seeds: np.ndarray, weights: np.ndarray) -> Hits:
        """Items related to the seeds (restart mass ``weights``), by personalized PageRank, above
        the relevance cut-off; scores descending, ties by position."""
        seeds = np.asarray(seeds, dtype=np.int64)
        if len(seeds) == 0:
            return Hits.empty()
        cutoff = MIN_RELATIVE_SCORE * (1 - DAMPING) / len(np.unique(seeds))
        nodes, scores = forward_push(self._push_graph, seeds, weights, PUSH_TOLERANCE_SHARE * cutoff,
                                     below=self.size, at_least=cutoff)
        scores = scores.astype(np.float32)
        order = np.lexsort((nodes, -scores))
        return Hits(nodes[order], scores[order])

    def search(self, query: str, k: int = 100, alive: np.ndarray | None = None) -> Hits:
        """Top ``k`` live items related to the query's matches (one walk, no over-fetching)."""
        text = clean_query(query)
        hits = self._related(text) if text else Hits.empty()
        return _live_top(hits, k, alive)

    def _search(self, query: str, n: int) -> Hits:
        return self._related(query).top(n)

    def _related(self, query: str) -> Hits:
        if not self.seeders:
            raise IndexDataError("graph search needs seeders (keyword/embedding indexes); open it through "
                              "SearchSystem or pass seeders=[...]")
        mask = self.seed_mask if self.seed_mask is not None and not self.seed_mask.all() else None
        return self.related([seeder.search(query, SEEDS_PER_MODE, mask) for seeder in self.seeders])

    def related(self, seeder_hits: Sequence[Hits]) -> Hits:
        """Items related to what the seeders found for a query (their live hits, in seeder order): the
        top :data:`SEEDS_PER_MODE` of each seed the walk with reciprocal-rank restart mass."""
        seeds, weights = [], []
        for hits in seeder_hits:
            hits = hits.top(SEEDS_PER_MODE)
            seeds.append(hits.positions)
            weights.append(1.0 / (RRF_K + np.arange(1, len(hits) + 1)))
        return self.pagerank(np.concatenate(seeds), np.concatenate(weights))

    def can_reuse(self, found: Mapping[str, Index], k: int) -> bool:
        """Whether the hits of these indexes for a query, ``k`` per index, hold this graph's seeds (the
        same seeder objects, at least :data:`SEEDS_PER_MODE` hits each, and their top the same as a search
        for the seeds alone): a search system retrieving with them then seeds the walk with their hits
        instead of searching again, with the same result."""
        return bool(self.seeders) and k >= SEEDS_PER_MODE and all(
            found.get(seeder.mode) is seeder and seeder.nested(k) for seeder in self.seeders)

    def search_related(self, seeder_hits: Sequence[Hits], k: int = 100, alive: np.ndarray | None = None) -> Hits:
        """:meth:`search` from the seeders' hits of the query (see :meth:`can_reuse`), same result."""
        hits = self.related(seeder_hits)
        return _live_top(hits, k, alive)

    def expand(self, position: int, k: int = 100, alive: np.ndarray | None = None) -> Hits:
        """Items related to one item (e.g. the reported one), by PageRank seeded on it."""
        hits = self.pagerank(np.array([position]), np.ones(1))
        return _live_top(hits, k, alive)
