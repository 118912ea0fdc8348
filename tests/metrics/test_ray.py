"""evaluate_queries on a local Ray cluster: the same Evaluation as one process (static and removal
dynamics, rankers with scores, an auditor who misses some), refusals that say why, and workers that
open the snapshot themselves."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from qx_env.errors import QxError
from qx_env.metrics import evaluate_queries
from qx_env.search import Dynamics, SearchSystem

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def queries(indexed_snapshot) -> dict[str, list[str]]:
    """Every report's annotations plus shared everyday words (so reports share queries)."""
    rows = indexed_snapshot.reports.select(["report_id", "annotations"]).to_pylist()
    return {r["report_id"]: [*r["annotations"], "转让", "出售"] for r in rows}


def assert_same_evaluation(sharded, single) -> None:
    assert sharded.metrics == single.metrics
    assert list(sharded.outcomes) == list(single.outcomes)
    for report, rows in single.outcomes.items():
        assert [o.query for o in sharded.outcomes[report]] == [o.query for o in rows]
        for got, want in zip(sharded.outcomes[report], rows):
            for field in ("exposed", "toxic", "detected", "new", "modes"):
                assert np.array_equal(getattr(got, field), getattr(want, field)), (report, got.query, field)


def test_static_evaluation_on_ray_equals_one_process(indexed_snapshot, queries, local_ray):
    # every mode and a ranker with scores (keyword alone and the retrieval ranker: the tests below)
    system = SearchSystem(indexed_snapshot, modes="hybrid", k=30, candidates=60, ranker="oracle:auc=0.8", build=False)
    single = evaluate_queries(system, queries)
    sharded = evaluate_queries(system, queries, ray=True)
    assert single.metrics.queries > 20 and single.metrics.hit_at_k > 0
    assert_same_evaluation(sharded, single)
    assert system.removed == 0  # the system is left as the snapshot is


def test_static_evaluation_with_an_auditor_who_misses_some_equals_one_process(indexed_snapshot, queries, local_ray):
    system = SearchSystem(indexed_snapshot, modes="keyword", k=30, candidates=60, build=False)
    dynamics = Dynamics(kind="static", recall=0.5)
    single = evaluate_queries(system, queries, dynamics, seed=3)
    sharded = evaluate_queries(system, queries, dynamics, seed=3, ray=True)
    assert 0 < sum(len(o.detected) for rows in single.outcomes.values() for o in rows) < single.metrics.hit_at_k
    assert_same_evaluation(sharded, single)


def test_removal_evaluation_on_ray_shards_reports_and_equals_one_process(indexed_snapshot, queries, local_ray):
    system = SearchSystem(indexed_snapshot, modes="keyword", k=30, candidates=60, ranker="oracle:auc=0.8",
                          build=False)
    single = evaluate_queries(system, queries, "removal")
    sharded = evaluate_queries(system, queries, "removal", ray=True)
    assert single.metrics != evaluate_queries(system, queries).metrics  # removals changed what later queries find
    assert_same_evaluation(sharded, single)
    delayed = Dynamics(kind="delayed", delay=1)
    assert_same_evaluation(evaluate_queries(system, queries, delayed, ray=True), evaluate_queries(system, queries, delayed))


def test_removal_episodes_that_carry_state_are_refused(indexed_snapshot, queries):
    system = SearchSystem(indexed_snapshot, modes="keyword", k=30, candidates=60, build=False)
    for dynamics, why in ((Dynamics(kind="removal", recall=0.9), "audit recall 0.9"),
                          (Dynamics(kind="removal", persist=True), "removals that persist")):
        with pytest.raises(QxError, match=rf"independent episode; here {why}.* would carry state .*: evaluate without Ray$"):
            evaluate_queries(system, queries, dynamics, ray=True)


def test_workers_open_the_saved_snapshot_themselves(indexed_snapshot, queries, local_ray, tmp_path):
    from qx_env import Snapshot

    copy = Snapshot.load(shutil.copytree(indexed_snapshot.path, tmp_path / "copy"))
    system = SearchSystem(copy, modes="keyword", k=30, candidates=60, build=False)
    shutil.rmtree(tmp_path / "copy")  # this process holds its indexes open; a worker has nothing to open
    with pytest.raises(QxError, match=f"snapshot directory {tmp_path / 'copy'} does not exist"):
        evaluate_queries(system, queries, ray=True)


def test_qx_eval_on_ray_prints_the_same_json(indexed_snapshot, local_ray, capsys):
    from qx_env.cli import main

    # keyword alone: every mode on Ray is test_static_evaluation_on_ray_equals_one_process's
    argv = ["eval", str(indexed_snapshot.path), "--annotations", "--split", "train,dev,test", "-k", "20",
            "--candidates", "50", "--mode", "keyword", "--json"]
    for dynamics in ("static", "removal"):
        assert main([*argv, "--dynamics", dynamics]) == 0
        single = capsys.readouterr().out
        assert main([*argv, "--dynamics", dynamics, "--ray"]) == 0
        assert capsys.readouterr().out == single and '"queries": 0' not in single


def test_an_unreachable_ray_address_is_named(indexed_snapshot, queries, capsys):
    from qx_env.cli import main

    if ray.is_initialized():
        ray.shutdown()  # a connected driver keeps its cluster; a later test gets a new local one
    system = SearchSystem(indexed_snapshot, modes="keyword", k=30, candidates=60, build=False)
    with pytest.raises(QxError, match="^cannot reach a Ray cluster at 127.0.0.1:9: "):
        evaluate_queries(system, queries, ray_address="127.0.0.1:9")
    assert not ray.is_initialized()
    assert main(["eval", str(indexed_snapshot.path), "--annotations", "--ray-address", "127.0.0.1:9"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "cannot reach a Ray cluster at 127.0.0.1:9" in error[0]
