"""``qx bench weeks`` end to end on the small world: its files and its figures per week and over the period."""

from __future__ import annotations

import json

import pytest

from benchmarks.weeks import Args, main
from qx_env.errors import QxError


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
    if period["human"]:  # an increment is tested: its p-value and the smallest increment it could detect
        assert 0 < period["p_value"] <= 1 and period["mdd"] > 0 and period["low"] <= period["increment"] <= period["high"]
    assert sum(w["detections"]["human"] for w in model["weeks"]) == period["human"]
    table = (tmp_path / "run" / "table.md").read_text(encoding="utf-8")
    assert "Over the period" in table and "human + tfidf" in table and "p, detectable" in table
    # queries per source, the mechanism behind hit queries growing faster than detections
    assert sum(saved["human"]["queries"]) > 0 and sum(model["model_queries"]) > 0
    assert "queries a run: human / model" in table
    assert result["dormant_versions"] > 0
    assert result["world_items"] == len(campaign_snapshot) + result["dormant_versions"]


def test_bench_weeks_keeps_and_retrains_a_model_trained_on_the_filed_reports(campaign_snapshot, tmp_path):
    """``--retrain seqlabel --retrain-every 1`` over three weeks: the kept arm trained once (end of week 1), the
    retrained one at the end of weeks 1 and 2, each on every report filed by then; a table compares them."""
    args = Args(snapshot=str(campaign_snapshot.path), models=(), retrain="seqlabel:epochs=5",
                retrain_every=1, split=("train", "dev", "test"), days=21, seeds=(0,), out=str(tmp_path / "run"))
    result = main(args)
    kept, again = result["retrain"]
    assert kept == "seqlabel fixed after week 1" and again == "seqlabel retrained every 1 weeks"
    fits = {arm: [(f["week"], f["new"]) for f in result["models"][arm]["fits"]] for arm in (kept, again)}
    assert fits == {kept: [(1, True)], again: [(1, True), (2, True)]}
    reports = [f["reports"] for f in result["models"][again]["fits"]]
    assert 0 < reports[0] < reports[1]
    assert result["models"][kept]["fits"][0]["reports"] == reports[0]
    # the same model in week 2; the kept arm asked nothing in week 1 (nothing learned yet)
    assert result["models"][kept]["model_detections"][:2] == result["models"][again]["model_detections"][:2]
    assert result["models"][kept]["model_detections"][0] == 0
    table = (tmp_path / "run" / "table.md").read_text(encoding="utf-8")
    assert "The model in time" in table and "trained on" in table


def test_bench_weeks_retrains_only_a_learner_and_refuses_bad_schedules(campaign_snapshot, tmp_path):
    base = {"snapshot": str(campaign_snapshot.path), "models": (), "days": 7, "out": str(tmp_path / "run")}
    with pytest.raises(QxError, match="takes one of seqlabel, dpo, got 'tfidf'"):
        main(Args(**base, retrain="tfidf"))
    with pytest.raises(QxError, match="dpo needs base=DIR"):
        main(Args(**base, retrain="dpo"))
    with pytest.raises(QxError, match="out are the run's"):
        main(Args(**base, retrain=f"dpo:base={tmp_path},out={tmp_path}"))
    with pytest.raises(QxError, match="not a directory"):
        main(Args(**base, retrain=f"dpo:base={tmp_path / 'none'}"))
    with pytest.raises(QxError, match=r"baselines=annotation\) at most"):
        main(Args(**base, retrain=f"dpo:base={tmp_path},baselines=tfidf"))
    with pytest.raises(QxError, match="saved model"):
        main(Args(**base, retrain=f"seqlabel:path={tmp_path / 'model'}"))
    with pytest.raises(QxError, match="retrain-every"):
        main(Args(**base, retrain="seqlabel", retrain_every=0))
    with pytest.raises(QxError, match="--models .* or one to retrain"):
        main(Args(**base))
