"""Everything on a local Ray cluster, in one module so that one cluster serves it (starting one takes
about 27 s): an unreachable address is named before any work (first, before this process connects to a
cluster); evaluate_queries gives the same Evaluation as one process (static and removal dynamics, rankers
with scores, an auditor who misses some) with workers that open the snapshot themselves; the modes and
fidelity benchmarks write the same results (timings aside); mining shards equal one process and bind to
loopback."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from benchmarks import fidelity, modes
from qx_env import QxError
from qx_env.metrics import evaluate_queries
from qx_env.search import Dynamics, SearchSystem
from training import mine_feedback, mine_feedback_ray, read_feedback, start_ray

ray = pytest.importorskip("ray")


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


def test_benchmarks_name_an_unreachable_ray_address(indexed_snapshot, tmp_path):
    if ray.is_initialized():
        ray.shutdown()
    with pytest.raises(QxError, match="^cannot reach a Ray cluster at 127.0.0.1:9: "):
        modes.main(modes.Args(snapshot=str(indexed_snapshot.path), out=str(tmp_path / "m"), ray_address="127.0.0.1:9"))
    with pytest.raises(QxError, match="^cannot reach a Ray cluster at 127.0.0.1:9: "):
        fidelity.main(fidelity.Args(seeds=(0,), items=2000, corpora=("synth",), out=str(tmp_path / "f"),
                                    ray_address="127.0.0.1:9"))
    assert not (tmp_path / "m").exists() and not (tmp_path / "f").exists()


def test_mining_names_an_unreachable_ray_address(indexed_snapshot, tmp_path):
    if ray.is_initialized():
        ray.shutdown()
    with pytest.raises(QxError, match="cannot reach a Ray cluster at 127.0.0.1:9"):
        mine_feedback_ray(indexed_snapshot, ["tfidf"], tmp_path / "c", shards=2, address="127.0.0.1:9")
    assert not (tmp_path / "c").exists()  # nothing half-written
    with pytest.raises(QxError, match="should be host:port"):
        start_ray("nowhere")


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


#: Fields that measure time, so differ run to run.


TIMINGS = {"ms_per_query", "extract_ms_per_report", "seconds", "minutes"}


def untimed(value):
    """``value`` without its timing fields, at any depth."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def test_bench_modes_on_ray_writes_the_same_rows(indexed_snapshot, local_ray, tmp_path):
    # one mode: every mode on Ray is tests/metrics/test_ray.py's
    grid = {"snapshot": str(indexed_snapshot.path), "policies": ("annotation", "tfidf"), "modes": ("keyword",),
            "rankers": ("retrieval", "oracle:auc=0.8"), "split": ("train", "dev", "test"), "k": 30}
    modes.main(modes.Args(**grid, out=str(tmp_path / "single")))
    modes.main(modes.Args(**grid, out=str(tmp_path / "ray"), ray=True))
    single, sharded = (json.loads((tmp_path / run / "results.json").read_text()) for run in ("single", "ray"))
    assert len(single["rows"]) == 4 and sum(r["queries"] for r in single["rows"]) > 50
    assert untimed(sharded["rows"]) == untimed(single["rows"])
    assert sharded["config"]["ray"] and not single["config"]["ray"]


def test_fidelity_on_ray_equals_one_process(local_ray, tmp_path):
    # the size sweep's cell shares the full cell's snapshot (one task runs both); no prevalence sweep
    toy = {"seeds": (0,), "items": 1500, "toxic_share": 0.05, "corpora": ("synth",), "prevalences": (),
           "sweep_items": 1500, "sizes": (1500,), "synth_policies": ("annotation", "tfidf")}
    single = fidelity.main(fidelity.Args(**toy, out=str(tmp_path / "single")))
    # the snapshots (made and indexed by seed) are shared; every cell is computed again, in Ray tasks
    shutil.copytree(tmp_path / "single" / "work" / "snapshots", tmp_path / "ray" / "work" / "snapshots")
    sharded = fidelity.main(fidelity.Args(**toy, out=str(tmp_path / "ray"), ray=True))
    cells = sorted(p.name for p in (tmp_path / "ray" / "work" / "cells").iterdir())
    assert cells == ["synth-s0-p0.05-n1500-sweep.json", "synth-s0-p0.05-n1500.json"]
    for part in ("claims", "cells", "sweeps"):  # as JSON: a claim not measured holds NaN, unequal to itself
        assert json.dumps(untimed(sharded[part])) == json.dumps(untimed(single[part])), part
    assert any(c["verdict"] != "not measured" for c in single["claims"])


def test_ray_shards_equal_one_process_and_bind_to_loopback(indexed_snapshot, local_ray, tmp_path):
    options = {"split": ("train",), "k": 50, "chunk": 10}
    single = read_feedback(mine_feedback(indexed_snapshot, ["tfidf"], tmp_path / "single", progress=False, **options))
    sharded = read_feedback(mine_feedback_ray(indexed_snapshot, ["tfidf"], tmp_path / "ray", shards=2, **options))
    assert single.num_rows > 0 and sharded.equals(single)
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    # Ray's SIGSEGV handler stays off in this driver: it would take the signal from the JVM (a crash
    # found when keyword searches followed a Ray run in one process, once the JVM had compiled its code)
    from ray._private import ray_constants

    assert ray_constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER is True
    again = mine_feedback_ray(indexed_snapshot, ["tfidf"], tmp_path / "ray", shards=2, **options)  # resumes: nothing to do
    assert read_feedback(again).equals(single)


def test_ray_needs_a_saved_snapshot_and_shards(snapshot_factory, indexed_snapshot, tmp_path):
    with pytest.raises(QxError, match="saved snapshot"):
        mine_feedback_ray(snapshot_factory(["甲", "乙"], [0, 1]), ["tfidf"], tmp_path / "a", shards=2)
    with pytest.raises(QxError, match="shards must be at least 1"):
        mine_feedback_ray(indexed_snapshot, ["tfidf"], tmp_path / "b", shards=0)
