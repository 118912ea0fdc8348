"""The paper's metrics on a hand-computed example, and batch evaluation equal to stepping."""

from __future__ import annotations

import pytest

from qx_env.envs import ExploreEnv
from qx_env.metrics import evaluate_queries, online_increment
from qx_env.search import SearchSystem

TEXTS = ["红腹水虎 出售", "红腹水虎 小苗", "红腹水虎 一对", "红腹鹦鹉 鱼", "毕业证复刻 加急", "毕业证复刻", "毕业证书框",
         "老虎玩偶"]
LABELS = [1, 1, 1, 0, 1, 1, 0, 0]
REPORTED = [0, 4]  # report r0 is item 0, r1 is item 4: both taken down before exploring


@pytest.fixture(scope="module")
def tiny_system(tmp_path_factory, snapshot_factory):
    snapshot = snapshot_factory(TEXTS, LABELS, path=tmp_path_factory.mktemp("metrics") / "s", reported=REPORTED)
    return SearchSystem(snapshot, modes=("keyword",), k=100, candidates=100)


def test_offline_metrics_by_hand(tiny_system):
    evaluation = evaluate_queries(tiny_system, {"r0": ["红腹水虎", "红腹", "红腹"], "r1": ["毕业证", "老虎玩偶"]})
    m = evaluation.metrics
    # reported 0 and 4 are down; 红腹水虎 -> 1,2 (2 toxic); 红腹 -> 1,2,3 (2); 毕业证 -> 5,6 (1); 老虎玩偶 -> 7 (0);
    # the repeated 红腹 counts once
    assert (m.hit_at_k, m.distinct_hits, m.queries, m.effective_queries) == (5, 3, 4, 3)
    assert m.hit_rate == 0.75
    assert m.as_dict()["hit@100"] == 5
    r0 = evaluation.outcomes["r0"]
    assert [len(o.new) for o in r0] == [2, 0]  # the second query finds nothing new in this report


def test_online_increment_by_hand(tiny_system):
    result = online_increment(tiny_system, base={"r0": ["红腹水虎"]}, added={"r0": ["红腹"], "r1": ["毕业证"]})
    # human alone: detects 1, 2 (one hit query); + model: 红腹 then finds only 3 (normal), 毕业证 finds 5
    assert result["detections"] == {"base": 2, "combined": 3}
    assert result["hit_queries"] == {"base": 1, "combined": 2}
    assert result["detection_increment"] == pytest.approx(0.5)
    assert result["hit_query_increment"] == pytest.approx(1.0)
    assert result["cumulative"] == {"base": [2], "combined": [2, 3]}  # after each report of the day
    # each report's share of the day, which a campaign bootstrap resamples; it sums to the day's totals
    assert result["per_report"] == {
        "base": [{"report_id": "r0", "detections": 2, "hit_queries": 1, "queries": 1}],
        "combined": [{"report_id": "r0", "detections": 2, "hit_queries": 1, "queries": 2},
                     {"report_id": "r1", "detections": 1, "hit_queries": 1, "queries": 1}]}
    assert tiny_system.removed == 0  # the day is undone afterwards


def test_a_model_query_equal_to_a_human_one_counts_as_the_humans(tiny_system):
    result = online_increment(tiny_system, base={"r0": ["红腹水虎"]}, added={"r0": [" 红腹水虎", "红腹"]})
    assert result["by_source"]["model"] == {"detections": 0, "hit_queries": 0, "queries": 1, "shared": 1}


def test_batch_evaluation_equals_stepping(indexed_snapshot):
    rows = indexed_snapshot.reports.select(["report_id", "annotations"]).to_pylist()
    # every report of the splits, so the same reported items are taken down as in the env
    queries = {r["report_id"]: r["annotations"] + ["转让"] for r in rows}
    system = SearchSystem(indexed_snapshot, modes=("keyword",), k=30, candidates=60, match="bm25", build=False)
    batch = evaluate_queries(system, queries)
    env = ExploreEnv(indexed_snapshot, system=system, budget=50, split=["train", "dev", "test"])
    stepped = []
    for report, report_queries in queries.items():
        env.reset(options={"report_id": report})
        for query in dict.fromkeys(report_queries):
            info = env.step(query)[4]["queries"][0]
            stepped.append((info["exposed_ids"], info["toxic_hits"], info["new_detections"]))
    ids = indexed_snapshot.ids
    expected = [(ids[o.exposed].tolist(), o.toxic_hits, len(o.new)) for rows_ in batch.outcomes.values() for o in rows_]
    assert stepped == expected
    assert batch.metrics.queries == len(stepped)


@pytest.mark.parametrize("modes", [("embedding",), ("graph",), "hybrid"])
def test_batch_evaluation_in_every_mode_equals_one_by_one(indexed_snapshot, modes):
    rows = indexed_snapshot.reports.select(["report_id", "annotations"]).to_pylist()
    queries = {r["report_id"]: r["annotations"] for r in rows}
    system = SearchSystem(indexed_snapshot, modes=modes, k=20, candidates=40, build=False)
    batch = evaluate_queries(system, queries)
    one_by_one = evaluate_queries(system, queries, dynamics="removal")  # queries run in order, one by one
    assert batch.metrics.queries == one_by_one.metrics.queries
    first = next(r for r in batch.outcomes if batch.outcomes[r])
    assert batch.outcomes[first][0].exposed.tolist() == one_by_one.outcomes[first][0].exposed.tolist()


def test_queries_without_content_are_not_queries(tiny_system):
    """The environment's rule: a query with nothing searchable (control characters, ANSI escapes,
    punctuation) is the empty query, so it counts in no metric."""
    plain = evaluate_queries(tiny_system, {"r0": ["红腹水虎"], "r1": ["毕业证"]}).metrics
    junk = evaluate_queries(tiny_system, {"r0": ["红腹水虎", "\x00", "\x1b[D", "红腹水虎\x00"],
                                          "r1": ["毕业证", "!!!", ""]}).metrics
    assert junk == plain and junk.queries == 2
