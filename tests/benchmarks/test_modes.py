"""The modes benchmark: its mode names (those of ``qx search --mode``), the grid's figures as they
relate to each other and to the per-report rows, the bootstrap intervals, and the data its plot is
drawn from (title, labels, error bars, chance lines)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks._common import markdown_table
from benchmarks.modes import (
    MATCHES,
    MODE_NAMES,
    MODES,
    Args,
    Extracted,
    figure_data,
    main,
    parse_mode,
    parse_modes,
    series_label,
    silent_policies,
)
from qx_env.errors import QxError


def test_mode_names_are_those_of_the_search_system():
    from indexes import MODES as INDEX_MODES
    from indexes import RULES
    from qx_env.search import HYBRID

    assert MODE_NAMES == (*INDEX_MODES, HYBRID) == ("keyword", "embedding", "graph", "hybrid")
    assert MATCHES == RULES
    assert [parse_mode(m) for m in MODES] == [("keyword", "exact"), ("keyword", "bm25"), ("embedding", "exact"),
                                              ("graph", "exact"), ("hybrid", "exact")]


def test_parse_modes_takes_the_search_names_and_lists_them_on_an_error():
    assert parse_modes(["keyword", "hybrid", "keyword"]) == ["keyword", "hybrid"]
    assert parse_modes(["keyword:match=exact", " keyword:match=bm25", "hybrid:match=bm25"]) == [
        "keyword", "keyword:match=bm25", "hybrid:match=bm25"]
    for old in ("keyword-exact", "sparse"):
        with pytest.raises(QxError, match=rf"unknown mode '{old}'; choose from keyword, embedding, graph, hybrid"):
            parse_modes(["keyword", old])
    with pytest.raises(QxError, match="match applies to the keyword index"):
        parse_modes(["embedding:match=bm25"])
    with pytest.raises(QxError, match="the one option is match=exact|bm25, got 'match=fuzzy'"):
        parse_modes(["keyword:match=fuzzy"])
    with pytest.raises(QxError, match="no mode given; choose from keyword"):
        parse_modes([])


def test_silent_policies_are_those_without_a_single_query():
    extracted = {"annotation": Extracted({"r0": [], "r1": []}, 0.0), "tfidf": Extracted({"r0": ["a"], "r1": []}, 0.1)}
    assert silent_policies(extracted) == ["annotation"]


def test_markdown_table_formats_floats_with_three_decimals():
    assert markdown_table(["a", "b"], [["x", 0.5], ["y", 2]]) == "| a | b |\n|---|---|\n| x | 0.500 |\n| y | 2 |"


def test_series_labels_name_the_ranker_only_when_there_are_several():
    assert series_label("keyword", "retrieval", ["keyword", "graph"], ["retrieval"]) == "keyword"
    assert series_label("keyword", "risk", ["keyword"], ["retrieval", "risk"]) == "risk"
    assert series_label("keyword", "risk", ["keyword", "graph"], ["retrieval", "risk"]) == "keyword / risk"


@pytest.fixture(scope="module")
def grid(indexed_snapshot, tmp_path_factory):
    out = tmp_path_factory.mktemp("modes")
    args = Args(snapshot=str(indexed_snapshot.path), policies=("annotation", "tfidf"), modes=("keyword", "graph"),
                split=("train", "dev", "test"), k=50, out=str(out))
    return args, main(args)["rows"], out


def test_grid_figures_add_up_to_the_per_report_rows(grid, indexed_snapshot):
    args, rows, _ = grid
    snapshot = indexed_snapshot
    reports = snapshot.reports
    assert [(r["policy"], r["mode"]) for r in rows] == [(p, m) for m in ("keyword", "graph")
                                                      for p in ("annotation", "tfidf")]
    reported = np.array([snapshot.position_of[i] for i in reports.column("item_id").to_pylist()])
    live, live_toxic = len(snapshot) - len(reported), int(snapshot.labels.sum() - snapshot.labels[reported].sum())
    for row in rows:
        per = row["per_report"]
        assert per["report_id"] == reports.column("report_id").to_pylist()  # every report of the split, once
        for key, column in (("queries", "queries"), ("effective_queries", "effective_queries"),
                            ("exposed", "exposed"), (f"hit@{args.k}", "hits")):
            assert row[key] == sum(per[column]), key
        assert row["queries"] > 0
        assert row["query_hit_rate"] == round(row["effective_queries"] / row["queries"], 4) <= 1
        assert row["precision"] == round(row[f"hit@{args.k}"] / row["exposed"], 4)
        assert row["distinct_hits"] <= row[f"hit@{args.k}"] <= row["exposed"] <= args.k * row["queries"]
        for q, e, x, h in zip(per["queries"], per["effective_queries"], per["exposed"], per["hits"]):
            assert 0 <= e <= q and e <= h <= x <= args.k * q
        assert row["base_rate"] == round(live_toxic / live, 6)  # the reports' own items taken down
        from qx_env.metrics import chance_effective

        assert 0 < row["chance_hit_rate"] <= float(chance_effective([args.k], live, live_toxic)[0])
        for metric in ("query_hit_rate", "precision"):
            low, high = row[f"{metric}_ci"]
            assert 0 <= low <= row[metric] <= high <= 1
    # the same queries in every mode: the count is the policy's, not the mode's
    assert len({(r["policy"], r["queries"]) for r in rows}) == 2


def test_results_file_and_table_hold_the_rows(grid):
    args, rows, out = grid
    saved = json.loads((out / "results.json").read_text())
    assert saved["rows"] == json.loads(json.dumps(rows)) and saved["config"]["k"] == args.k
    table = (out / "table.md").read_text()
    first = rows[0]
    low, high = first["query_hit_rate_ci"]
    assert f"| {first['query_hit_rate']:.3f} [{low:.3f}, {high:.3f}] |" in table
    grid_lines = table.split("\n\n")[0]
    assert grid_lines.count("\n") == len(rows) + 1  # header, rule, one line per row
    assert f"{first['campaigns']} campaigns ({first['singletons']} singletons)" in table
    made = {(c["kind"], c["within"], c["compared"], c["against"]): c for c in saved["comparisons"]}
    assert set(made) == {("policy", "keyword", "tfidf", "annotation"), ("policy", "graph", "tfidf", "annotation"),
                         ("mode", "annotation", "graph", "keyword"), ("mode", "tfidf", "graph", "keyword")}
    by_cell = {(r["policy"], r["mode"]): r for r in rows}
    tfidf_minus_human = made["policy", "keyword", "tfidf", "annotation"]
    assert tfidf_minus_human["difference"] == pytest.approx(
        by_cell["tfidf", "keyword"]["query_hit_rate"] - by_cell["annotation", "keyword"]["query_hit_rate"], abs=1e-3)
    assert all(c["p_adjusted"] >= c["p_value"] for c in made.values())
    assert (out / "modes.png").is_file()


def test_the_plot_data_names_its_context_and_carries_intervals_and_chance(grid):
    from benchmarks.modes import plot_title

    args, rows, _ = grid
    data = figure_data(rows, plot_title(args.snapshot, args.split, args.k, rows))
    reports = len(rows[0]["per_report"]["report_id"])
    assert data.title.startswith(f"{args.snapshot}, train,dev,test split, k=50, {reports} reports; ")
    assert "annotation " + str(rows[0]["queries"]) in data.title and "95% bootstrap over campaigns" in data.title
    assert data.groups == ["annotation", "tfidf"]
    assert [p.metric for p in data.panels] == ["query_hit_rate", "precision"]
    for panel in data.panels:
        assert "_" not in panel.ylabel and panel.chance_label.startswith("chance")
        assert [s.label for s in panel.series] == ["keyword", "graph"]  # no "/ retrieval" on a single ranker
        for series in panel.series:
            chosen = [r for r in rows if r["mode"] == series.label]
            assert series.values == [r[panel.metric] for r in chosen]
            assert all(lo <= v <= hi for lo, v, hi in zip(series.low, series.values, series.high))
            assert any(hi > lo for lo, hi in zip(series.low, series.high))  # error bars are drawn
            chance = "chance_hit_rate" if panel.metric == "query_hit_rate" else "base_rate"
            assert series.chance == [r[chance] for r in chosen]
    assert set(data.panels[1].series[0].chance) == {rows[0]["base_rate"]}  # precision's chance: the base rate
