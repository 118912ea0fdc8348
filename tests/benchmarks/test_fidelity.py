"""The fidelity benchmark end to end on a toy size, and its verdict rule."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import fidelity

#: Corpus size of the toy cells, and of the size sweep's one cell: as small as keeps every claim measurable.
ITEMS, SIZE = 1500, 1200


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
    args = fidelity.Args(seeds=(0, 1), items=ITEMS, toxic_share=0.05, corpora=("synth",), prevalences=(0.02,),
                         sweep_items=ITEMS, sizes=(SIZE,), synth_policies=("annotation", "tfidf", "seqlabel:epochs=2"),
                         out=str(tmp_path / "out"))
    summary = fidelity.main(args)
    out = tmp_path / "out"
    assert (out / "table.md").is_file() and (out / "fidelity.png").stat().st_size > 10_000
    saved = json.loads((out / "results.json").read_text())
    assert {c["claim"] for c in saved["claims"]} >= {"a", "b", "c", "d", "e"}
    junk = [c for c in summary["claims"] if c["claim"] == "e"]
    assert junk and all(c["verdict"] == "holds" and c["values"] == [0.0, 0.0] for c in junk)
    for cell in summary["cells"]["synth"]:
        assert cell["counts"]["toxic"] == round(0.05 * ITEMS)
        for mode, pooled in cell["pooled"].items():
            rows = [r for r in cell["rows"] if r["mode"] == mode]
            assert pooled["queries"] == sum(r["queries"] for r in rows)
            assert pooled["query_hit_rate"] == sum(r["effective_queries"] for r in rows) / pooled["queries"]
            assert 0 <= pooled["chance_hit_rate"] <= 1 and pooled["base_rate"] < 0.06
        assert 0.5 <= cell["auc"] <= 1
    paired = [c for c in summary["claims"] if c["claim"] in ("a", "a'", "a+", "b")]
    assert {(c["claim"], c["statement"].split(" in ")[0]) for c in paired if c["claim"] != "b"} == {
        ("a", "keyword exact > embedding"), ("a", "keyword exact > graph"), ("a'", "keyword exact > embedding"),
        ("a'", "keyword exact > graph"), ("a+", "keyword exact > keyword:match=bm25"), ("a+", "keyword exact > hybrid")}
    cells = summary["cells"]["synth"]
    test_reports = sum(c["counts"]["test_reports"] for c in cells)
    for claim in paired:
        assert claim["verdict"] in {"holds", "reversed", "does not hold", "undecided", "not measured"}
        if claim["verdict"] == "not measured":
            continue
        assert claim["low"] <= claim["difference"] <= claim["high"] and claim["p_adjusted"] >= claim["p_value"]
        assert claim["seeds"] == 2 and claim["campaigns"] <= claim["reports"]
    human_tfidf = next(c for c in paired if c["statement"].startswith("Human > TF-IDF"))
    assert human_tfidf["reports"] == test_reports  # paired on the same reports: one row a report
    rate = {p: sum(r["effective_queries"] for c in cells for r in c["rows"] if r["policy"] == p and r["mode"] == "keyword")
            / sum(r["queries"] for c in cells for r in c["rows"] if r["policy"] == p and r["mode"] == "keyword")
            for p in ("annotation", "tfidf")}
    assert abs(human_tfidf["difference"] - (rate["annotation"] - rate["tfidf"])) < 1e-6
    online = [c for c in summary["claims"] if c["claim"] == "d"]
    assert [c["rate"] for c in online] == ["detections_increment", "hit_queries_increment"]
    for claim, count in zip(online, ("detections", "hit_queries")):
        days = [c["online"] for c in cells]
        assert claim["reports"] == sum(len(d["per_report"]["report_id"]) for d in days) and claim["seeds"] == 2
        base = sum(d[count]["base"] for d in days)
        assert claim["difference"] == pytest.approx(sum(d[count]["combined"] for d in days) / base - 1, abs=1e-6)
        assert claim["verdict"] in {"holds", "reversed", "does not hold", "undecided"}
    exact_graph = next(c for c in paired if c["claim"] == "a" and "graph" in c["statement"])
    assert exact_graph["reports"] == 3 * test_reports  # every policy's row of every report
    shares = [c["counts"]["toxic"] / c["counts"]["items"] for c in summary["sweeps"]["prevalence"]]
    assert shares == [0.02] and [c["counts"]["items"] for c in summary["sweeps"]["size"]] == [SIZE]
    from qx_env.corpus.synth._annotations import KIND_WEIGHTS

    for cell in cells:  # the Human row taken apart by the synthetic auditors' annotation kinds
        assert cell["human_by_kind"] and set(cell["human_by_kind"]) <= set(KIND_WEIGHTS)
    assert "annotation kind (synthetic auditors)" in (out / "table.md").read_text()
    again = fidelity.main(args)  # cached cells: a rerun gives the same claims
    assert json.dumps(again["claims"]) == json.dumps(summary["claims"])
    # a cell cached under an older revision of one of its policies is measured again, not reused
    stale = next((out / "work" / "cells").glob("*-sweep.json"))
    cell = json.loads(stale.read_text())
    assert cell["revisions"] == {"annotation": 1, "tfidf": 1}
    stale.write_text(json.dumps({**cell, "revisions": {"annotation": 1, "tfidf": 0}, "pooled": {}}))
    fidelity.main(args)
    assert json.loads(stale.read_text())["revisions"] == cell["revisions"]
