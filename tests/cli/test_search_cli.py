"""``qx index build`` and ``qx search`` on a small snapshot."""

from __future__ import annotations

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
    assert "unknown retrieval mode 'sparse'" in capsys.readouterr().err
    # search builds the indexes it is missing
    assert main(["search", str(out), "--mode", "graph", "转让"]) == 0
    assert (out / "indexes" / "graph" / "index.json").is_file()
