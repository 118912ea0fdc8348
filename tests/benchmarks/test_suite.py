"""The suite end to end on two toy worlds: floor, baselines and ceiling in two modes, pooled with paired
comparisons; a run killed midway resumes to the same results; bad input is refused in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import suite
from benchmarks._worlds import load_spec
from qx_env.cli import main as qx

ROOT = Path(__file__).resolve().parents[2]
TOY = {"name": "toy", "version": 1, "language": "zh", "items": 2500, "toxic_share": 0.05, "seeds": [3, 4],
       "encoder": "ngram", "split": {"rule": "campaign", "fractions": [0.6, 0.1, 0.3]}, "evaluate": "test", "k": 20}
FLAGS = ["--policies", "random-span,annotation,tfidf,oracle", "--modes", "keyword,embedding"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("suite")
    spec = folder / "toy.json"
    spec.write_text(json.dumps(TOY))
    return folder, spec


def _args(spec, folder, out):
    return ["--spec", str(spec), *FLAGS, "--root", str(folder / "worlds"), "--out", str(folder / out)]


def _decided(results: dict) -> dict:
    return {"rows": results["rows"], "comparisons": results["comparisons"], "suite": results["suite"]}


def test_the_suite_frames_policies_and_resumes_after_a_kill(toy):
    folder, spec = toy
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.Popen([sys.executable, "-m", "benchmarks.suite", *_args(spec, folder, "killed")], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cells = folder / "killed" / "cells"
    deadline = time.monotonic() + 400
    while killed.poll() is None and time.monotonic() < deadline and not list(cells.rglob("*.json")):
        time.sleep(0.2)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    done_before = len(list(cells.rglob("*.json")))
    assert 0 < done_before < 2 * 2 * 4  # killed after its first cell, before the last
    resumed = suite.main(suite.parse_args(suite.Args, "", _args(spec, folder, "killed")))
    # from nothing, the two worlds in two processes at once: the same cells, hence the same tables
    clean = suite.main(suite.parse_args(suite.Args, "", [*_args(spec, folder, "clean"), "--jobs", "2"]))
    assert _decided(resumed) == _decided(clean)

    # a cell computed on a world an older generator made (another configuration) is redone, not pooled
    stale = next((folder / "clean" / "cells").rglob("tfidf.json"))
    cell = json.loads(stale.read_text())
    stale.write_text(json.dumps({**cell, "key": {**cell["key"], "world": "older"}, "query_hit_rate": 2.0}))
    again = suite.main(suite.parse_args(suite.Args, "", _args(spec, folder, "clean")))
    assert _decided(again) == _decided(clean) and json.loads(stale.read_text())["key"] == cell["key"]

    rows = {(r["mode"], r["policy"]): r for r in clean["rows"]}
    assert {r["role"] for r in clean["rows"]} == {"floor", "baseline", "ceiling"}
    for mode in ("keyword", "embedding"):
        floor, ceiling = rows[mode, "random-span"], rows[mode, "oracle"]
        assert floor["worlds"] == 2 and floor["reports"] == sum(1 for _ in range(floor["reports"]))
        assert ceiling["query_hit_rate"] >= rows[mode, "tfidf"]["query_hit_rate"]
        for row in (floor, ceiling):
            low, high = row["query_hit_rate_ci"]
            assert low <= row["query_hit_rate"] <= high and 0 <= row["chance_hit_rate"] <= 1
    first = clean["rows"][0]
    assert first["campaigns"] <= first["reports"] and first["singletons"] <= first["campaigns"]
    kinds = {(c["kind"], c["within"], c["compared"]) for c in clean["comparisons"]}
    assert ("policy", "keyword", "tfidf") in kinds and ("mode", "tfidf", "embedding") in kinds
    assert all(c["p_adjusted"] >= c["p_value"] for c in clean["comparisons"])
    for c in clean["comparisons"]:  # each world's own difference, and the t-interval over the two worlds
        spread = c["between_worlds"]
        assert set(spread["per_world"]) == {"seed-3", "seed-4"} and spread["low"] <= spread["mean"] <= spread["high"]
    assert clean["suite"]["hash"] == load_spec(str(spec)).hash
    claims = {c["statement"]: c for c in clean["claims"]}  # the paper's claims by the fidelity bench's rules
    human = claims["Human > TF-IDF in query hit rate (keyword exact)"]
    assert human["reports"] == first["reports"] and human["verdict"] in {"holds", "reversed", "does not hold",
                                                                          "undecided"}
    assert claims["keyword exact > graph in query hit rate"]["verdict"] == "not measured"  # graph not run
    assert claims["keyword exact > embedding in precision"]["seeds"] == 2
    table = (folder / "clean" / "table.md").read_text()
    assert "suite toy v1" in table and "campaigns" in table and "minus annotation" in table
    assert "between worlds: mean [95% t-interval]" in table
    assert (folder / "clean" / "suite.png").stat().st_size > 0

    # a suite of one of these worlds (another spec, another name) reuses their cells: nothing is redone
    one = folder / "one.json"
    one.write_text(json.dumps({**TOY, "name": "one", "seeds": [4]}))
    made = {path: path.stat().st_mtime_ns for path in (folder / "clean" / "cells").rglob("*.json")}
    alone = suite.main(suite.parse_args(suite.Args, "", _args(one, folder, "clean")))
    assert {path: path.stat().st_mtime_ns for path in made} == made
    assert {r["policy"]: r["per_world"]["seed-4"] for r in alone["rows"] if r["mode"] == "keyword"} == \
        {r["policy"]: r["per_world"]["seed-4"] for r in clean["rows"] if r["mode"] == "keyword"}


def test_bad_input_is_refused_in_one_line_and_nothing_is_written(toy, tmp_path, capsys):
    _folder, spec = toy
    out = tmp_path / "out"
    assert qx(["bench", "suite", "--spec", str(spec), "--policies", "nonesuch", "--out", str(out)]) == 2
    assert "unknown policy 'nonesuch'" in capsys.readouterr().err
    thin = tmp_path / "thin.json"
    thin.write_text(json.dumps({**TOY, "items": 100, "toxic_share": 0.01}))
    assert qx(["bench", "suite", "--spec", str(thin), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "raise items or toxic_share" in err
    assert qx(["bench", "suite", "--spec", str(tmp_path / "none.json"), "--out", str(out)]) == 2
    assert "no suite spec" in capsys.readouterr().err
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({k: v for k, v in TOY.items() if k != "seeds"}))
    assert qx(["bench", "suite", "--spec", str(partial), "--out", str(out)]) == 2
    assert "missing seeds" in capsys.readouterr().err
    assert qx(["bench", "suite", "--spec", str(spec), "--worlds", "9", "--out", str(out)]) == 2
    assert "is not a seed of suite toy v1" in capsys.readouterr().err
    assert qx(["bench", "suite", "--spec", str(spec), "--jobs", "0", "--out", str(out)]) == 2
    assert "--jobs must be at least 1, got 0" in capsys.readouterr().err
    assert not out.exists()


def test_the_shipped_spec_is_frozen():
    spec = load_spec("zh-1M-v1")
    assert (spec.name, spec.version, spec.seeds, spec.raw["items"], spec.raw["toxic_share"]) == \
        ("zh-1M", 1, [0, 1, 2], 1_000_000, 0.003)
    assert spec.hash == load_spec(str(spec.path)).hash and len(spec.hash) == 12
    six = load_spec("zh-1M-v2")  # three more worlds: its first three are v1's, made once
    assert six.seeds == [0, 1, 2, 3, 4, 5] and six.hash != spec.hash and six.directory_name == spec.directory_name
