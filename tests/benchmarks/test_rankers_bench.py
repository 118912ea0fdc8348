"""The rankers benchmark on a small snapshot: both tables, the result file and the plot."""

from __future__ import annotations

import json

from benchmarks.rankers import Args, main
from qx_env.rankers import METRICS


def test_rankers_benchmark_writes_tables_and_plot(indexed_snapshot, tiny_model, tmp_path):
    out = tmp_path / "rankers"
    result = main(Args(snapshot=str(indexed_snapshot.path), base=str(tiny_model), cold=False, max_steps=2, max_test=100,
                       policies="annotation,tfidf", out=str(out)))
    rankers = ["retrieval", "logistic regression", "lm fine-tuned (model)", "lm prompted (model)", "oracle (AUC 0.8)"]
    assert [r["ranker"] for r in result["classification"]] == rankers
    assert all(set(METRICS) <= set(row) for row in result["classification"])
    assert {(r["ranker"], r["policy"]) for r in result["search"]} == {(r, p) for r in rankers
                                                                     for p in ("annotation", "tfidf")}
    saved = json.loads((out / "results.json").read_text())
    assert saved["config"]["max_steps"] == 2 and len(saved["search"]) == 10
    assert "| lm prompted (model) | snapshot |" in (out / "table.md").read_text()
    assert (out / "rankers.png").stat().st_size > 1000
