"""The results page is generated from the declared runs, and the committed page is what they make."""

from __future__ import annotations

import json

import pytest

from benchmarks import results
from qx_env.errors import QxError


def test_the_committed_results_page_is_what_the_declared_runs_make():
    assert results.PAGE.read_text(encoding="utf-8") == results.render(), \
        "benchmarks/RESULTS.md is stale: run python -m benchmarks.results"


def declare(tmp_path, runs):
    (tmp_path / "benchmarks").mkdir(exist_ok=True)
    path = tmp_path / "benchmarks" / "published.json"
    path.write_text(json.dumps(runs), encoding="utf-8")
    return path


def test_a_run_is_headed_by_its_command_commit_machine_and_load_and_shows_its_own_table(tmp_path, capsys):
    folder = tmp_path / "benchmarks" / "published" / "toy"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({
        "git_commit": "0123456789abcdef", "git_dirty": True, "date": "2026-12-07T10:00:00+00:00", "minutes": 3.5,
        "machine": {"cpus": 2, "memory_gib": 23.4, "gpus": [], "load_1_5_15": [1.5, 1.2, 0.9], "platform": "Linux"}}))
    (folder / "summary.md").write_text("| a | b |\n|---|---|\n| 1 | 2 |\n")
    (folder / "curve.png").write_bytes(b"png")
    declared = declare(tmp_path, [{"name": "toy", "title": "A toy run", "about": "What it measures.",
                                   "command": "qx bench toy --out x", "results": "benchmarks/published/toy"}])
    page = results.render(declared)
    assert "## A toy run\n\nWhat it measures." in page
    assert "- command: `qx bench toy --out x`" in page
    assert "- commit: 0123456789ab (with uncommitted changes)" in page
    assert "- machine: 2 cores, 23.4 GiB, no GPU, load 1.5 / 1.2 / 0.9 (1, 5, 15 min) when written; Linux" in page
    assert "| 1 | 2 |" in page and "![A toy run](published/toy/curve.png)" in page
    out = tmp_path / "RESULTS.md"
    check = results.Args(declared=str(declared), out=str(out), check=True)
    assert results.main(check) == 1 and not out.exists()  # --check writes nothing
    assert "is not what the declared runs make" in capsys.readouterr().err
    assert results.main(results.Args(declared=str(declared), out=str(out))) == 0
    assert results.main(check) == 0 and out.read_text() == page


def test_a_declared_run_without_its_results_names_the_command_that_makes_them(tmp_path):
    declared = declare(tmp_path, [{"name": "gone", "title": "t", "about": "a", "command": "qx bench suite",
                                   "results": "benchmarks/published/gone"}])
    with pytest.raises(QxError, match="run 'gone': no results.json in benchmarks/published/gone; make it with: "
                                      "qx bench suite"):
        results.render(declared)
    with pytest.raises(QxError, match="run 0 lacks about, command"):
        results.render(declare(tmp_path, [{"name": "x", "title": "t", "results": "r"}]))
