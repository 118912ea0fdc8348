"""The rankers benchmark on a small snapshot: both tables, the result file and the plot."""

from __future__ import annotations

import json

import pytest

from benchmarks.rankers import Args, main
from qx_env.rankers import METRICS


def test_rankers_benchmark_writes_tables_and_plot(indexed_snapshot, tiny_model, tmp_path):
    out = tmp_path / "rankers"
    result = main(Args(snapshot=str(indexed_snapshot.path), base=str(tiny_model), cold=False, max_steps=2, max_test=100,
                       policies=("annotation", "tfidf"), out=str(out)))
    rankers = ["retrieval", "logistic regression", "lm fine-tuned (model)", "lm prompted (model)", "oracle (AUC 0.8)"]
    assert [r["ranker"] for r in result["classification"]] == rankers
    assert all(set(METRICS) <= set(row) for row in result["classification"])
    assert {(r["ranker"], r["policy"]) for r in result["search"]} == {(r, p) for r in rankers
                                                                     for p in ("annotation", "tfidf")}
    for row in result["classification"]:
        assert row["n"] <= 100 and all(0 <= row[m] <= 1 for m in ("accuracy", "precision", "recall", "f1", "auc"))
        p, r = row["precision"], row["recall"]
        assert row["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)  # F1 is its two figures' mean
    assert len({row["n"] for row in result["classification"]}) == 1  # every ranker scored the same texts
    oracle = next(r for r in result["classification"] if r["ranker"] == "oracle (AUC 0.8)")
    assert oracle["auc"] > 0.5  # drawn at AUC 0.8 in expectation; the sample here is too small for more
    for row in result["search"]:
        per = row["per_report"]
        assert row["mode"] == "keyword" and row["queries"] == sum(per["queries"])
        assert row["query_hit_rate"] == round(sum(per["effective_queries"]) / row["queries"], 4) <= 1
        assert row["hit@100"] == sum(per["hits"]) <= row["exposed"] == sum(per["exposed"])
    # a ranker reorders what retrieval found: each policy asks the same queries under every ranker
    assert len({(r["policy"], r["queries"]) for r in result["search"]}) == 2
    saved = json.loads((out / "results.json").read_text())
    assert saved["config"]["max_steps"] == 2 and len(saved["search"]) == 10
    assert "| lm prompted (model) | snapshot |" in (out / "table.md").read_text()
    assert (out / "rankers.png").is_file()
