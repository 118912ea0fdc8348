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


def test_bench_modes_names_an_empty_split_and_the_snapshot_counts(tmp_path, capsys, snapshot_factory):
    texts = ["加微信领取彩金", "加微信领取彩金二号", "刷单兼职日结", "衣服质量很好", "物流很快"]
    path = tmp_path / "snap"
    snapshot_factory(texts, labels=[1, 1, 1, 0, 0], splits=["train", "train", "dev"], path=path)
    out = tmp_path / "modes"
    assert main(["bench", "modes", str(path), "--modes", "keyword", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"qx: error: {path}: the test split holds 0 reports (its reports: train 2, dev 1, test 0); "
                           f"pass --split train,dev, or re-split with `qx corpus split {path}`")
    assert not out.exists()
