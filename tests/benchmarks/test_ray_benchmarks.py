"""The modes and fidelity benchmarks on a local Ray cluster give the results they give in one process
(timings aside), and an unreachable cluster is named before any work."""

from __future__ import annotations

import json
import shutil

import pytest

from benchmarks import fidelity, modes
from qx_env.errors import QxError

ray = pytest.importorskip("ray")

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


def test_benchmarks_name_an_unreachable_ray_address(indexed_snapshot, tmp_path):
    if ray.is_initialized():
        ray.shutdown()
    with pytest.raises(QxError, match="^cannot reach a Ray cluster at 127.0.0.1:9: "):
        modes.main(modes.Args(snapshot=str(indexed_snapshot.path), out=str(tmp_path / "m"), ray_address="127.0.0.1:9"))
    with pytest.raises(QxError, match="^cannot reach a Ray cluster at 127.0.0.1:9: "):
        fidelity.main(fidelity.Args(seeds=(0,), items=2000, corpora=("synth",), out=str(tmp_path / "f"),
                                    ray_address="127.0.0.1:9"))
    assert not (tmp_path / "m").exists() and not (tmp_path / "f").exists()
