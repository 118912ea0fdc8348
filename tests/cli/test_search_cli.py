"""``qx index build`` and ``qx search`` on a small snapshot."""

from __future__ import annotations

import subprocess
import sys

from qx_env.cli import main


def test_build_then_search(tmp_path, capsys):
    out = tmp_path / "snap"
    assert main(["corpus", "synth", "--items", "800", "--toxic-share", "0.05", "--seed", "5", "--out", str(out),
                 "--quiet"]) == 0
    assert main(["index", "build", str(out), "--modes", "keyword,embedding,graph", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "keyword" in printed and "graph" in printed
    assert (out / "indexes" / "keyword" / "index.json").is_file()
    assert main(["search", str(out), "--mode", "hybrid", "--show-labels", "-k", "5", "--candidates", "20",
                 "转让", 'title:"x" AND (y*']) == 0
    printed = capsys.readouterr().out
    assert "query '转让'" in printed and "exposed" in printed


def test_unknown_mode_is_one_line(tmp_path, capsys):
    out = tmp_path / "snap"
    main(["corpus", "synth", "--items", "200", "--out", str(out), "--quiet"])
    assert main(["index", "build", str(out), "--modes", "sparse"]) == 2
    assert "unknown retrieval mode 'sparse'; choose from keyword, embedding, graph, hybrid" in capsys.readouterr().err
    # search refuses, naming every index the mode needs and the one command that builds them all
    assert main(["search", str(out), "--mode", "graph", "转让"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"`qx index build {out} --modes keyword,embedding,graph`" in error
    assert "--build-missing" in error and not (out / "indexes" / "keyword").exists()
    assert main(["search", str(out), "--mode", "keyword", "--build-missing", "转让"]) == 0
    assert (out / "indexes" / "keyword" / "index.json").is_file()


def test_commands_that_start_java_print_no_library_banners(tmp_path):
    out = tmp_path / "snap"
    assert main(["corpus", "synth", "--items", "200", "--out", str(out), "--quiet"]) == 0
    run = subprocess.run([sys.executable, "-m", "qx_env", "index", "build", str(out), "--modes", "keyword",
                          "--quiet"], check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    # before: SLF4J's provider line and Lucene's "You are running with Java 22 or later" notice
    assert "SLF4J" not in run.stderr and "You are running with Java" not in run.stderr, run.stderr
