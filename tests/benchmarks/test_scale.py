"""The scale benchmark on one small size: its row, table, result file and log-log plot."""

from __future__ import annotations

import json

from benchmarks.scale import Args, main


def test_scale_benchmark_measures_a_size_in_its_own_process(tmp_path):
    out = tmp_path / "scale"
    result = main(Args(sizes="1500", queries=20, steps=20, out=str(out), snapshots=str(tmp_path / "snaps")))
    (row,) = result["rows"]
    assert row["items"] == 1500 and set(row["build_s"]) == {"keyword", "embedding", "graph"}
    assert set(row["env_steps_per_s"]) == {"keyword", "embedding", "graph", "hybrid"}
    assert row["peak_rss_mib"] > 0 and row["keyword_ratio_to_pyserini"] > 0
    assert json.loads((out / "results.json").read_text())["rows"] == [row]
    assert "| 1,500 |" in (out / "table.md").read_text()
    assert (out / "scale.png").stat().st_size > 1000
