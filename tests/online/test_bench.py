"""``qx bench weeks`` end to end on the small world: its files and its figures per week and over the period."""

from __future__ import annotations

import json

from benchmarks.weeks import Args, main


def test_bench_weeks_writes_its_table_plot_and_figures(campaign_snapshot, tmp_path):
    args = Args(snapshot=str(campaign_snapshot.path), models=("tfidf",), split=("train", "dev", "test"), days=14,
                seeds=(0, 1), out=str(tmp_path / "run"))
    result = main(args)
    for name in ("results.json", "table.md", "weeks.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    saved = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    model = saved["models"]["tfidf"]
    assert [w["week"] for w in model["weeks"]] == [1, 2] and len(model["live_toxic"]) == 2
    period = model["period"]["detections"]
    assert period["combined"] >= 0 and period["campaigns"] > 0
    assert sum(w["detections"]["human"] for w in model["weeks"]) == period["human"]
    table = (tmp_path / "run" / "table.md").read_text(encoding="utf-8")
    assert "Over the period" in table and "human + tfidf" in table
    assert result["dormant_versions"] > 0
    assert result["world_items"] == len(campaign_snapshot) + result["dormant_versions"]
