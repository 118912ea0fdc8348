"""The scale benchmark on one small size: its row is the figures of the per-size result files it
was made from, the ratios are their two figures' ratios, and the table, result file and plot hold it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.scale import Args, main, table

MIB = 2**20


def test_scale_benchmark_measures_a_size_in_its_own_process(tmp_path):
    out, snapshots = tmp_path / "scale", tmp_path / "snaps"
    result = main(Args(sizes=(1500,), queries=20, steps=20, out=str(out), snapshots=str(snapshots)))
    (row,) = result["rows"]
    modes = ("keyword", "embedding", "graph")
    assert row["items"] == 1500 and set(row["build_s"]) == set(row["disk_mib"]) == set(modes)
    assert list(row["env_steps_per_s"]) == [*modes, "hybrid"]
    speed = json.loads((out / "items-1500" / "search_speed.json").read_text())
    env = json.loads((out / "items-1500" / "env_speed.json").read_text())
    snapshot = snapshots / "bench-zh-1500"
    assert json.loads((snapshot / "meta.json").read_text())["counts"]["items"] == 1500
    for mode in modes:
        assert row["build_s"][mode] == speed["build"][mode]["seconds"] > 0
        on_disk = sum(f.stat().st_size for f in Path(snapshot, "indexes", mode).rglob("*") if f.is_file())
        assert row["disk_mib"][mode] == speed["build"][mode]["mib"] == pytest.approx(on_disk / MIB, abs=0.06)
    assert row["env_steps_per_s"] == {m: r["env_steps_per_s"] for m, r in env["modes"].items()}
    assert all(v > 0 for v in row["env_steps_per_s"].values())
    keyword, embedding = speed["keyword"], speed["embedding"]
    assert row["keyword_qps"] == keyword["ours_bm25_qps"] and row["embedding_qps"] == embedding["ours_qps"]
    assert row["keyword_ratio_to_pyserini"] == pytest.approx(keyword["ours_bm25_qps"] / keyword["raw_pyserini_qps"],
                                                             abs=0.01, rel=0.01)
    assert row["embedding_ratio_to_faiss"] == round(embedding["ours_qps"] / embedding["raw_faiss_qps"], 2)
    assert embedding["index"] == "flat" and row["embedding_recall_at_100"] == embedding["recall_at_100"] == 1.0
    assert row["reset_ms"] == env["modes"]["keyword"]["reset_ms_p50"] > 0
    assert row["peak_rss_mib"] > sum(row["disk_mib"].values())  # the indexes were loaded, and a JVM runs
    build = json.loads((out / "items-1500" / "build.json").read_text())  # from the process that built them
    assert row["build_peak_rss_mib"] == build["peak_rss_mib"] > 0
    assert build["fingerprint"] == json.loads((snapshot / "indexes" / "graph" / "index.json").read_text())[
        "snapshot_fingerprint"]
    assert (row["pyserini_qps"], row["raw_faiss_qps"]) == (keyword["raw_pyserini_qps"], embedding["raw_faiss_qps"])
    assert json.loads((out / "results.json").read_text())["rows"] == [row]
    written = (out / "table.md").read_text()
    assert written.strip() == table([row]).strip()
    line = written.strip().splitlines()[-1]
    assert line.startswith("| 1,500 | " + "/".join(str(row["build_s"][m]) for m in modes) + " | ")
    assert f"{row['keyword_qps']} (x{row['keyword_ratio_to_pyserini']})" in line
    assert (out / "scale.png").is_file()


def test_search_speed_measures_the_parts_asked_for(tmp_path):
    """A part alone (as at 10M items, where the parts do not fit in memory together), and an unknown
    part is named."""
    from benchmarks import search_speed

    args = search_speed.Args(items=1200, queries=10, snapshot=str(tmp_path / "snap"), parts=("graph",),
                             out=str(tmp_path / "graph.json"))
    alone = search_speed.main(args)
    assert alone["graph"]["search_p50_ms"] > 0 and not {"keyword", "embedding"} & set(alone)
    assert json.loads((tmp_path / "graph.json").read_text())["graph"] == alone["graph"]
    args.parts = ("faiss",)
    with pytest.raises(SystemExit, match="unknown part 'faiss'"):
        search_speed.main(args)
