"""The search system: ranking, removal and restore across modes."""

from __future__ import annotations

import pytest

from qx_env import QxError, SearchSystem
from qx_env.search import OracleRanker


def _queries(snapshot):
    """The auditors' good phrases: each matches its campaign exactly."""
    rows = snapshot.reports.select(["annotations", "annotation_kinds"]).to_pylist()
    return [p for row in rows for p, kind in zip(row["annotations"], row["annotation_kinds"]) if kind == "good"][:10]


@pytest.mark.parametrize("modes", [("keyword",), ("embedding",), ("graph",), "hybrid"])
def test_removal_hides_items_everywhere_and_restore_brings_them_back(indexed_snapshot, modes):
    system = SearchSystem(indexed_snapshot, modes=modes, k=20, candidates=50, build=False)
    # the first phrase this mode retrieves anything for (the semantic cut-off can leave some with none)
    query = next((q for q in _queries(indexed_snapshot) if len(system.search(q))), None)
    assert query is not None, "no good phrase retrieves anything in this mode"
    before = system.search(query)
    removed = before.positions[: max(1, len(before) // 2)]
    assert system.remove(removed) == len(removed)
    assert system.remove(removed) == 0  # already gone
    after = system.search(query)
    assert not set(removed.tolist()) & set(after.positions.tolist())
    assert system.alive[after.positions].all()
    system.restore()
    assert system.search(query).positions.tolist() == before.positions.tolist()


def test_risk_ranking_orders_exposed_items_by_risk(indexed_snapshot):
    system = SearchSystem(indexed_snapshot, modes="keyword", match="bm25", k=10, candidates=200, ranker="risk",
                          build=False)
    risk = system.ranker.scores()
    for query in _queries(indexed_snapshot):
        hits = system.search(query)
        assert list(risk[hits.positions]) == sorted(risk[hits.positions], reverse=True)
        candidates = system.retrieve(query)
        assert set(hits.positions.tolist()) <= set(candidates.positions.tolist())


def test_bad_arguments(indexed_snapshot):
    with pytest.raises(QxError, match="unknown retrieval mode 'sparse'"):
        SearchSystem(indexed_snapshot, modes=("sparse",))
    with pytest.raises(QxError, match="unknown ranker"):
        SearchSystem(indexed_snapshot, ranker="magic", build=False)
    with pytest.raises(QxError, match=r"candidates \(10\) must be at least k \(100\)"):
        SearchSystem(indexed_snapshot, k=100, candidates=10)
    with pytest.raises(QxError, match="oracle auc"):
        OracleRanker(indexed_snapshot, auc=1.5)


def test_expand_from_a_reported_item_skips_removed_ones(indexed_snapshot):
    system = SearchSystem(indexed_snapshot, modes=("graph",), k=20, candidates=100, build=False)
    reported = indexed_snapshot.position_of[indexed_snapshot.reports.column("item_id")[0].as_py()]
    hits = system.expand(reported)
    assert reported in hits.positions.tolist()
    system.remove([reported])
    assert reported not in system.expand(reported).positions.tolist()
    with pytest.raises(QxError, match="needs the graph mode"):
        SearchSystem(indexed_snapshot, modes=("keyword",), build=False).expand(reported)


HOSTILE = ["", "   ", "\x00\x07", "🐟" * 50, "红腹水虎" * 2500, 'title:"x" AND (y* OR z~2)^3 [a TO b]', "\\", "\u202e\u200b",
           "a" * 10_000, "DROP TABLE items;--", "\ufffd"]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_in_every_mode_give_defined_results(indexed_snapshot, query):
    system = SearchSystem(indexed_snapshot, modes="hybrid", k=10, candidates=30, build=False)
    hits = system.search(query)
    assert len(hits) <= 10
    assert len(set(hits.positions.tolist())) == len(hits)
    assert hits.positions.dtype.kind == "i" and hits.scores.dtype.kind == "f"


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_hybrid_seeds_the_graph_with_the_hits_it_already_has_and_finds_the_same(indexed_snapshot, tmp_path, kind):
    """Hybrid retrieval reuses its keyword and embedding hits as the graph's seeds (no second search)
    only where that gives what the graph finds on its own: every mode fused equals the fusion of each
    index searched by itself, with and without removed items."""
    import shutil

    from indexes import EmbeddingIndex, GraphIndex, reciprocal_rank_fusion
    from qx_env.snapshot import Snapshot

    copy = Snapshot.load(shutil.copytree(indexed_snapshot.path, tmp_path / "s"))
    if kind == "hnsw":
        EmbeddingIndex.build(copy, progress=False, kind="hnsw")
    for candidates, reuses in ((50, True), (300, kind == "flat")):  # HNSW: 2 x 300 > efSearch 512
        system = SearchSystem(copy, modes="hybrid", k=20, candidates=candidates, build=False)
        graph = system.indexes["graph"]
        assert isinstance(graph, GraphIndex) and graph.can_reuse(system.indexes, candidates) == reuses
        queries = _queries(copy)
        system.remove(system.search(queries[0]).positions[:5])
        for removed in (True, False):
            alive = system.alive if removed else None
            for query in queries:
                alone = {mode: index.search(query, candidates, alive) for mode, index in system.indexes.items()}
                fused = reciprocal_rank_fusion(alone, candidates)
                got = system.retrieve(query)
                assert got.positions.tolist() == fused.positions.tolist() and (got.modes == fused.modes).all()
            system.restore()


def test_systems_sharing_a_retrieval_cache_retrieve_each_query_once_and_find_the_same(indexed_snapshot):
    """The graph mode's walks, kept in a shared cache, are what the hybrid mode fuses: the same hits as
    systems without a cache; another set of live items is retrieved again, not read from the cache."""
    queries = _queries(indexed_snapshot)
    plain = {modes: SearchSystem(indexed_snapshot, modes=modes, k=20, candidates=50, build=False)
             for modes in ("graph", "hybrid")}
    cache: dict = {}
    shared = {modes: SearchSystem(indexed_snapshot, modes=modes, k=20, candidates=50, build=False,
                                  retrieval_cache=cache) for modes in ("graph", "hybrid")}
    for query in queries:
        shared["graph"].search(query)
    walks = len(cache)
    assert walks == len(set(queries))  # one graph walk per distinct query
    for query in queries:
        got, want = shared["hybrid"].search(query), plain["hybrid"].search(query)
        assert got.positions.tolist() == want.positions.tolist() and (got.modes == want.modes).all()
    graph_keys = [key for key in cache if key[1] == "graph"]
    assert len(graph_keys) == walks  # hybrid read the graph's walks rather than adding its own
    taken = shared["hybrid"].search(queries[0]).positions[:3]
    for system in (shared["hybrid"], plain["hybrid"]):
        system.remove(taken)
    got, want = shared["hybrid"].search(queries[0]), plain["hybrid"].search(queries[0])
    assert got.positions.tolist() == want.positions.tolist() and not set(taken.tolist()) & set(got.positions.tolist())
    assert len([key for key in cache if key[1] == "graph"]) == walks + 1
