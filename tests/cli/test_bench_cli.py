"""``qx bench modes`` writes its table, JSON and plot."""

from __future__ import annotations

import json

from qx_env.cli import main


def test_bench_modes(indexed_snapshot, tmp_path, capsys):
    out = tmp_path / "modes"
    assert main(["bench", "modes", str(indexed_snapshot.path), "--policies", "annotation,ngram", "--modes",
                 "keyword,hybrid", "--split", "train,dev,test", "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert {(r["policy"], r["mode"]) for r in rows} == {(p, m) for p in ("annotation", "ngram")
                                                       for m in ("keyword", "hybrid")}
    assert (out / "modes.png").stat().st_size > 1000 and "| policy | mode |" in (out / "table.md").read_text()
    assert "query hit rate" in capsys.readouterr().out
    assert main(["bench", "modes", str(indexed_snapshot.path), "--modes", "sparse", "--out", str(out)]) == 2
