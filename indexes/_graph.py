"""Graph retrieval: an item graph (scipy CSR, networkx through :meth:`GraphIndex.to_networkx`)
expanded by personalized PageRank.

Items link to the sellers who posted them and to the contact handles found in their texts
(WeChat/QQ ids, phone numbers, URLs), and to their near-duplicates (Jaccard similarity of
character shingles by MinHash, :mod:`indexes._minhash`: a property of the texts, so the graph is
the same whichever encoder the embedding index uses). A query seeds the walk only on the items it
matched (its keyword and embedding hits, each above its own mode's relevance rule): a query that
matches nothing retrieves nothing.
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

from indexes._base import Index, UnusableIndex, clean_query, rebuild_command
from indexes._fusion import RRF_K
from indexes._minhash import NEAR_DUPLICATE_JACCARD, NEAR_DUPLICATE_PARTNERS, near_duplicates
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
#: What graph.npz's near-duplicate edges mean; a graph built by another rule is refused (rebuilt).
DUPLICATE_RULE = "minhash-jaccard-3-shingles"
#: Relevance cut-off: an item must score at least this share of an average seed's own restart
#: share ((1 - damping) / seeds). With one seed of two relations, an item reached through a shop
#: or handle of d listings scores about 0.36 / d of that share, so relations through entities of
#: up to ~36 listings are retrieved, larger shops only through several or stronger links (a big
#: shop's other listings are not "related" to a query because one of them matched).
MIN_RELATIVE_SCORE = 0.01
#: Push tolerance as a share of the cut-off: estimates fall short of the exact PageRank by at most
#: tolerance x degree, a twentieth of the cut-off for an item with one link.
PUSH_TOLERANCE_SHARE = 0.05


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
    def _build(cls, snapshot: Snapshot, directory: Path, progress: bool,
               duplicate_threshold: float = NEAR_DUPLICATE_JACCARD,
               duplicate_neighbours: int = NEAR_DUPLICATE_PARTNERS, **_: Any) -> dict:
        """The graph as edge arrays straight into scipy (a networkx graph of a million items took
        several GiB to build; :meth:`to_networkx` gives the same graph as networkx)."""
        n = len(snapshot)
        entity_ids: dict[str, int] = {}  # entity name -> number, in order of first appearance
        linked_items, linked_entities = array("q"), array("q")

        def link(item: int, entity: str) -> None:
            linked_items.append(item)
            linked_entities.append(entity_ids.setdefault(entity, len(entity_ids)))

        sellers = snapshot.items.column("seller_id").to_pylist()
        texts = snapshot.text_column  # read slice by slice, never a list of every text
        for item, (text, seller) in enumerate(tqdm(zip(texts, sellers), total=n,
                                                   desc="graph: sellers and handles", disable=not progress)):
            if seller:
                link(item, f"seller:{seller}")
            for handle in contact_handles(text):
                link(item, f"handle:{handle}")
        duplicates = near_duplicates(texts, duplicate_threshold, duplicate_neighbours, progress)
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
                "duplicate_edges": len(duplicates), "duplicate_rule": DUPLICATE_RULE,
                "duplicate_threshold": duplicate_threshold, "duplicate_partners": duplicate_neighbours}

    @classmethod
    def _open(cls, snapshot: Snapshot, directory: Path, meta: dict, seeders: Sequence[Index] = (),
              seed_mask: np.ndarray | None = None, **_: Any) -> GraphIndex:
        rule = meta.get("params", {}).get("duplicate_rule", "embedding cosine (before MinHash)")
        if rule != DUPLICATE_RULE:
            raise UnusableIndex(cls.mode, f"the graph at {directory} links near-duplicates by {rule!r}, not "
                                f"{DUPLICATE_RULE!r}", f"rebuild it with {rebuild_command(snapshot, [cls.mode])}")
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
