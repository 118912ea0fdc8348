"""Graph retrieval: push PageRank against networkx, seeds only from matches, a relevance cut-off."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from indexes import build_indexes
from indexes._pagerank import DAMPING, PushGraph, forward_push
from qx_env import SearchSystem


@pytest.mark.parametrize("engine", ["java", "numpy"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_push_agrees_with_networkx_pagerank(seed, engine):
    rng = np.random.default_rng(seed)
    graph = nx.connected_watts_strogatz_graph(300, 4, 0.2, seed=seed)
    hub = 300  # a high-degree node, like a big shop's seller node
    graph.add_edges_from((hub, int(v)) for v in rng.choice(300, 60, replace=False))
    seeds = rng.choice(301, 5, replace=False)
    mass = rng.random(5) + 0.1
    personalization = {int(s): float(m) for s, m in zip(seeds, mass)}
    exact = nx.pagerank(graph, alpha=DAMPING, personalization=personalization, tol=1e-12, max_iter=1000)
    adjacency = sp.csr_array(nx.to_scipy_sparse_array(graph, nodelist=range(301), format="csr"))
    push = PushGraph.from_adjacency(adjacency)
    tolerance = 1e-6
    nodes, scores = forward_push(push, seeds, mass, tolerance, engine=engine)
    estimate = np.zeros(301)
    estimate[nodes] = scores
    truth = np.array([exact[v] for v in range(301)])
    # The push estimate is a lower bound within tolerance x degree of the exact score.
    assert (estimate <= truth + 1e-9).all()
    assert (truth - estimate <= tolerance * push.degree + 1e-9).all()
    top = np.argsort(-truth)[:20]
    assert set(np.argsort(-estimate)[:20].tolist()) == set(top.tolist())


@pytest.mark.parametrize("weighted", [False, True])
def test_both_push_engines_give_the_same_estimates_to_the_bit(weighted):
    """qx.ForwardPush (Java) and the numpy rounds: same nodes, same float64 estimates, on graphs with
    hubs, isolated nodes and repeated seeds, filtered as the graph index filters."""
    rng = np.random.default_rng(7)
    graph = nx.connected_watts_strogatz_graph(2000, 4, 0.1, seed=7)
    for hub in (2000, 2001):
        graph.add_edges_from((hub, int(v)) for v in rng.choice(2000, 400, replace=False))
    graph.add_nodes_from([2002, 2003])  # isolated
    if weighted:
        for a, b in graph.edges:
            graph.edges[a, b]["weight"] = float(rng.integers(1, 4))
    push = PushGraph.from_adjacency(sp.csr_array(nx.to_scipy_sparse_array(graph, nodelist=range(2004), format="csr")))
    assert push.java() is not None, "qx-env's Java did not compile here (javac 17+ is needed)"
    for trial in range(20):
        seeds = np.concatenate([rng.choice(2004, 30), [2002, 2000, 2000]])
        mass = rng.random(len(seeds)) + 0.01
        tolerance = 10.0 ** -rng.uniform(3, 7)
        options = {"below": 2000, "at_least": 1e-5} if trial % 2 else {}
        java = forward_push(push, seeds, mass, tolerance, engine="java", **options)
        numpy = forward_push(push, seeds, mass, tolerance, engine="numpy", **options)
        assert java[0].tolist() == numpy[0].tolist() and len(java[0]) > 0
        assert java[1].tobytes() == numpy[1].tobytes()


@pytest.mark.parametrize("engine", ["java", "numpy"])
def test_forward_push_stays_local_and_reuses_its_scratch(engine):
    # Two components: mass seeded in one never reaches the other.
    graph = nx.disjoint_union(nx.path_graph(10), nx.complete_graph(10))
    push = PushGraph.from_adjacency(sp.csr_array(nx.to_scipy_sparse_array(graph, format="csr")))
    nodes, scores = forward_push(push, np.array([0]), np.ones(1), 1e-4, engine=engine)
    assert nodes.max() < 10 and scores.sum() <= 1 + 1e-9
    again_nodes, again_scores = forward_push(push, np.array([0]), np.ones(1), 1e-4, engine=engine)
    assert again_nodes.tolist() == nodes.tolist() and np.allclose(again_scores, scores)  # scratch was reset
    assert forward_push(push, np.array([], dtype=np.int64), np.array([]), 1e-4, engine=engine)[0].size == 0


@pytest.fixture(scope="module")
def shops(snapshot_factory, tmp_path_factory):
    """Three unrelated groups: a campaign of four copies sharing a handle, a shop of three
    listings by one seller, and twenty loners with no relation to anything."""
    campaign = [f"高仿证件 办理 加微 wx{88000001} 第{i}批" for i in range(4)]
    shop = [f"二手自行车 成色新 第{i}辆 同城自提" for i in range(3)]
    loners = [f"旧书一本 编号{i:02d} 便宜出" for i in range(20)]
    texts = campaign + shop + loners
    labels = [1] * 4 + [0] * 23
    clusters = ["c0"] * 4 + [None] * 23
    sellers = [f"op{i}" for i in range(4)] + ["shop1"] * 3 + [f"u{i}" for i in range(20)]
    snapshot = snapshot_factory(texts, labels, clusters, sellers, path=tmp_path_factory.mktemp("shops") / "s")
    build_indexes(snapshot, progress=False)
    return snapshot


def test_graph_exposes_only_what_relates_to_the_matches(shops):
    system = SearchSystem(shops, modes=("graph",), k=100, candidates=100, build=False)
    hits = system.search("高仿证件")
    assert set(hits.positions.tolist()) == {0, 1, 2, 3}  # the campaign, through its handle; nothing else
    shop = system.search("二手自行车")
    assert set(shop.positions.tolist()) == {4, 5, 6}
    assert len(system.expand(10)) < 100  # a loner relates to little, although k is 100


@pytest.mark.parametrize("query", ["龘靐", "量子引力"])
def test_graph_retrieves_nothing_for_a_query_that_matches_nothing(shops, query):
    for mode in ("keyword", "embedding", "graph"):
        system = SearchSystem(shops, modes=(mode,), match="bm25", k=100, candidates=100, build=False)
        assert len(system.search(query)) == 0, mode


def test_built_graph_is_the_networkx_graph_of_its_relations(shops):
    """The index builds its arrays directly; networkx, fed the same relations edge by edge, must agree."""
    from indexes import GraphIndex, contact_handles, near_duplicates

    index = GraphIndex.open(shops)
    expected = nx.Graph()
    expected.add_nodes_from(range(len(shops)))
    sellers = shops.items.column("seller_id").to_pylist()
    for item, (text, seller) in enumerate(zip(shops.texts, sellers)):
        expected.add_edges_from((item, name) for name in [f"seller:{seller}"] * bool(seller)
                                + [f"handle:{h}" for h in contact_handles(text)])
    duplicates = near_duplicates(shops.texts)
    assert len(duplicates) > 0
    expected.add_edges_from(map(tuple, duplicates.tolist()))
    expected.remove_nodes_from([node for node in list(expected) if isinstance(node, str) and expected.degree(node) < 2])
    built = index.to_networkx()
    assert "handle:wx88000001" in built and "seller:shop1" in built and "seller:op0" not in built  # lonely: dropped
    assert set(built.nodes) == set(expected.nodes)
    assert {frozenset(e) for e in built.edges} == {frozenset(e) for e in expected.edges}
    assert index.meta["params"]["edges"] == expected.number_of_edges()


def test_a_graph_built_by_the_old_near_duplicate_rule_is_refused_and_rebuilt(shops, tmp_path):
    import json
    import shutil

    from indexes import GraphIndex, UnusableIndex, ensure_indexes
    from qx_env import Snapshot

    shutil.copytree(shops.path, tmp_path / "s")
    copy = Snapshot.load(tmp_path / "s")
    meta_file = tmp_path / "s" / "indexes" / "graph" / "index.json"
    meta = json.loads(meta_file.read_text())
    del meta["params"]["duplicate_rule"]  # what graphs linked by embedding cosine carried
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(UnusableIndex, match="links near-duplicates by 'embedding cosine.*qx index build"):
        GraphIndex.open(copy)
    with pytest.warns(UserWarning, match="rebuilding the graph index"):
        rebuilt = ensure_indexes(copy, ("graph",), build=True)["graph"]
    assert rebuilt.meta["params"]["duplicate_rule"] == "minhash-jaccard-3-shingles"
