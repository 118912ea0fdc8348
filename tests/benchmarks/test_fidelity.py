"""The fidelity benchmark end to end on a toy size, and its verdict rule."""

from __future__ import annotations

import json
import math

from benchmarks import fidelity


def test_verdicts_follow_the_interval():
    assert fidelity.verdict(0.01, 0.2) == "holds"
    assert fidelity.verdict(-0.3, -0.01) == "does not hold"
    assert fidelity.verdict(-0.1, 0.1) == "unclear"
    assert fidelity.verdict(0.2, 0.5, above=0.1, below=0.99) == "holds"
    assert fidelity.verdict(1.2, 1.5, above=0.1, below=0.99) == "does not hold"
    assert fidelity.verdict(float("nan"), float("nan")) == "not measured"
    mean, low, high = fidelity.interval([0.1, 0.2, 0.3])
    assert math.isclose(mean, 0.2) and low < 0.1 and high > 0.3  # t-interval wider than the range at 3 seeds


def test_fidelity_bench_end_to_end_on_a_toy_size(tmp_path):
    args = fidelity.Args(seeds=(0, 1), items=2500, toxic_share=0.05, corpora=("synth",), prevalences=(0.02,),
                         sweep_items=2500, sizes=(2000,), synth_policies=("annotation", "tfidf", "seqlabel:epochs=2"),
                         out=str(tmp_path / "out"))
    summary = fidelity.main(args)
    out = tmp_path / "out"
    assert (out / "table.md").is_file() and (out / "fidelity.png").stat().st_size > 10_000
    saved = json.loads((out / "results.json").read_text())
    assert {c["claim"] for c in saved["claims"]} >= {"a", "b", "c", "d", "e"}
    junk = [c for c in summary["claims"] if c["claim"] == "e"]
    assert junk and all(c["verdict"] == "holds" and c["values"] == [0.0, 0.0] for c in junk)
    for cell in summary["cells"]["synth"]:
        assert cell["counts"]["toxic"] == round(0.05 * 2500)
        for mode, pooled in cell["pooled"].items():
            rows = [r for r in cell["rows"] if r["mode"] == mode]
            assert pooled["queries"] == sum(r["queries"] for r in rows)
            assert pooled["query_hit_rate"] == sum(r["effective_queries"] for r in rows) / pooled["queries"]
            assert 0 <= pooled["chance_hit_rate"] <= 1 and pooled["base_rate"] < 0.06
        assert 0.5 <= cell["auc"] <= 1
    (a,) = [c for c in summary["claims"] if c["claim"] == "a"]
    assert len(a["values"]) == 2 and a["verdict"] in {"holds", "does not hold", "unclear"}
    shares = [c["counts"]["toxic"] / c["counts"]["items"] for c in summary["sweeps"]["prevalence"]]
    assert shares == [0.02] and [c["counts"]["items"] for c in summary["sweeps"]["size"]] == [2000]
    again = fidelity.main(args)  # cached cells: a rerun gives the same claims
    assert [c["mean"] for c in again["claims"]] == [c["mean"] for c in summary["claims"]] or any(
        math.isnan(c["mean"]) for c in summary["claims"])
