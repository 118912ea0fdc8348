"""All modes on one small synthetic snapshot: removal exactness, persistence, bad index data."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from indexes import EmbeddingIndex, GraphIndex, KeywordIndex, contact_handles, reciprocal_rank_fusion
from qx_env import IndexDataError, Snapshot
from qx_env.types import MODE_BITS


def _queries(snapshot, n=12):
    phrases = [p for row in snapshot.reports.column("annotations").to_pylist() for p in row]
    return phrases[:n]


def _open_all(snapshot):
    keyword = KeywordIndex.open(snapshot, match="bm25")
    embedding = EmbeddingIndex.open(snapshot)
    graph = GraphIndex.open(snapshot, seeders=[keyword, embedding])
    return {"keyword": keyword, "embedding": embedding, "graph": graph}


@pytest.mark.parametrize("mode", ["keyword", "embedding", "graph"])
def test_results_after_removal_are_the_top_k_of_live_items(indexed_snapshot, mode):
    index = _open_all(indexed_snapshot)[mode]
    alive = np.random.default_rng(0).random(len(indexed_snapshot)) > 0.4
    if mode == "graph":
        index.seed_mask = alive
    for query in _queries(indexed_snapshot):
        brute = index.search(query, len(indexed_snapshot))  # every hit, unfiltered
        if mode == "graph":
            index.seed_mask = alive
        expected = brute.where(alive).top(20)
        got = index.search(query, 20, alive)
        assert got.positions.tolist() == expected.positions.tolist(), query
        assert alive[got.positions].all()


def test_persistence_round_trip(indexed_snapshot):
    first = _open_all(indexed_snapshot)
    second = _open_all(indexed_snapshot)
    for query in _queries(indexed_snapshot, 5):
        for mode in first:
            a, b = first[mode].search(query, 30), second[mode].search(query, 30)
            assert a.positions.tolist() == b.positions.tolist()
            np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)


def test_batch_search_equals_single_searches(indexed_snapshot):
    queries = _queries(indexed_snapshot, 8) + ["", "🐟"]
    alive = np.ones(len(indexed_snapshot), bool)
    alive[::3] = False
    for index in _open_all(indexed_snapshot).values():
        if isinstance(index, GraphIndex):
            continue
        batch = index.batch_search(queries, 25, alive)
        single = [index.search(q, 25, alive) for q in queries]
        assert [h.positions.tolist() for h in batch] == [h.positions.tolist() for h in single]


def test_index_of_another_snapshot_is_refused(indexed_snapshot, tmp_path):
    other_path = tmp_path / "other"
    shutil.copytree(indexed_snapshot.path, other_path)
    meta = json.loads((other_path / "indexes" / "keyword" / "index.json").read_text())
    meta["items_fingerprint"] = "0" * 16
    (other_path / "indexes" / "keyword" / "index.json").write_text(json.dumps(meta))
    with pytest.raises(IndexDataError, match="built for another snapshot.*qx index build"):
        KeywordIndex.open(Snapshot.load(other_path))
    # an index made before items fingerprints were recorded is matched by the whole snapshot's
    del meta["items_fingerprint"]
    meta["snapshot_fingerprint"] = "0" * 16
    (other_path / "indexes" / "keyword" / "index.json").write_text(json.dumps(meta))
    with pytest.raises(IndexDataError, match="built for another snapshot.*qx index build"):
        KeywordIndex.open(Snapshot.load(other_path))


def test_missing_or_corrupted_index_is_reported(indexed_snapshot, tmp_path):
    path = tmp_path / "copy"
    shutil.copytree(indexed_snapshot.path, path)
    snapshot = Snapshot.load(path)
    (path / "indexes" / "embedding" / "faiss.index").write_bytes(b"not a faiss index")
    with pytest.raises(IndexDataError, match="cannot be read.*rebuild"):
        EmbeddingIndex.open(snapshot)
    shutil.rmtree(path / "indexes" / "graph")
    with pytest.raises(IndexDataError, match="no graph index"):
        GraphIndex.open(snapshot)
    for file in (path / "indexes" / "keyword" / "lucene").iterdir():
        if file.name.startswith("segments"):
            file.unlink()
    with pytest.raises(IndexDataError, match="cannot be read"):
        KeywordIndex.open(snapshot)


def test_graph_links_campaign_items(indexed_snapshot):
    graph = GraphIndex.open(indexed_snapshot)
    labels = indexed_snapshot.labels
    clusters = indexed_snapshot.items.column("cluster_id").to_pylist()
    reported = [indexed_snapshot.position_of[i] for i in indexed_snapshot.reports.column("item_id").to_pylist()]
    same_campaign = []
    for position in reported[:10]:
        hits = graph.expand(position, 20)
        assert position in hits.positions.tolist()
        others = [p for p in hits.positions.tolist() if p != position]
        same_campaign.append(np.mean([clusters[p] == clusters[position] for p in others]) if others else 0)
    assert np.mean(same_campaign) > 0.5
    assert labels.mean() < 0.1
    graph_nx = graph.to_networkx()
    assert graph_nx.number_of_nodes() == len(indexed_snapshot) + len(graph.entities)
    assert any(str(node).startswith("seller:") for node in graph_nx.nodes)


def test_contact_handles():
    text = "加V:abc1234567，扣扣 2968993533，电话13812345678，详情看 ab12.vip/xy，价格120元"
    handles = contact_handles(text)
    assert {"abc1234567", "2968993533", "13812345678", "ab12.vip/xy"} <= set(handles)
    assert "120" not in handles


def test_fusion_attributes_hits_to_modes(indexed_snapshot):
    indexes = _open_all(indexed_snapshot)
    for query in _queries(indexed_snapshot, 5):
        results = {mode: index.search(query, 50) for mode, index in indexes.items()}
        fused = reciprocal_rank_fusion(results, 100)
        assert len(set(fused.positions.tolist())) == len(fused)
        for i, position in enumerate(fused.positions.tolist()):
            for mode, hits in results.items():
                assert bool(fused.modes[i] & MODE_BITS[mode]) == (position in hits.positions.tolist())
        assert list(fused.scores) == sorted(fused.scores, reverse=True)


def test_process_parallel_batch_equals_single_searches(indexed_snapshot):
    keyword = KeywordIndex.open(indexed_snapshot, match="bm25")
    queries = _queries(indexed_snapshot, 12)
    alive = np.ones(len(indexed_snapshot), bool)
    alive[::2] = False
    batch = keyword.batch_search(queries, 30, alive, processes=2)
    single = [keyword.search(q, 30, alive) for q in queries]
    assert [h.positions.tolist() for h in batch] == [h.positions.tolist() for h in single]
    keyword._search_pool.close()
