"""``qx bench online``: a simulated day with removal, human vs human + model queries (Table 7)."""

from __future__ import annotations

import json

import pytest

from benchmarks.online import day_order
from qx_env.cli import main

COLUMNS = {"model", "human_detections", "combined_detections", "detection_increment", "human_hit_queries",
           "combined_hit_queries", "hit_query_increment", "model_queries", "shared_with_human", "model_hit_rate",
           # each increment's interval over campaigns, p-value and detectable difference, and the test set
           "detection_increment_ci", "detection_increment_p", "detection_increment_mdd", "hit_query_increment_ci",
           "hit_query_increment_p", "hit_query_increment_mdd", "reports", "campaigns"}


def run_online(snapshot, out, *flags):
    return main(["bench", "online", str(snapshot.path), "--split", "train,dev,test", "--out", str(out), *flags])


def test_bench_online_writes_table_json_and_plot(indexed_snapshot, tmp_path, capsys):
    out = tmp_path / "online"
    assert run_online(indexed_snapshot, out, "--models", "tfidf,ngram:top=2,min_n=2") == 0
    result = json.loads((out / "results.json").read_text())
    rows = result["rows"]
    assert [r["model"] for r in rows] == ["tfidf", "ngram:top=2,min_n=2"]
    assert all(set(r) == COLUMNS for r in rows)
    reports = indexed_snapshot.reports.num_rows
    base = "human (annotation)"
    assert list(result["cumulative"]) == [base, f"{base} + tfidf", f"{base} + ngram:top=2,min_n=2"]
    for values in result["cumulative"].values():
        assert len(values) == reports and values == sorted(values) and values[0] >= 0  # one point per report
    for row in rows:
        assert result["cumulative"][base][-1] == row["human_detections"]  # the same human day for every model
        assert result["cumulative"][f"{base} + {row['model']}"][-1] == row["combined_detections"]
        assert row["detection_increment"] == pytest.approx(
            (row["combined_detections"] - row["human_detections"]) / row["human_detections"])
        assert row["hit_query_increment"] == pytest.approx(
            (row["combined_hit_queries"] - row["human_hit_queries"]) / row["human_hit_queries"])
        model_hits = row["model_hit_rate"] * row["model_queries"]
        assert model_hits == pytest.approx(round(model_hits)) and round(model_hits) <= row["combined_hit_queries"]
        assert 0 <= row["model_hit_rate"] <= 1 and 0 <= row["shared_with_human"]
        for key in ("detection", "hit_query"):
            low, high = row[f"{key}_increment_ci"]
            assert low - 1e-6 <= row[f"{key}_increment"] <= high + 1e-6 and 0 < row[f"{key}_increment_p"] <= 1
        assert row["reports"] == reports and 0 < row["campaigns"] <= reports
    assert result["config"]["dynamics"] == "removal"
    assert (out / "online.png").is_file()
    table = (out / "table.md").read_text()
    assert "detection increment" in table and "hit query increment" in table
    assert f"| {rows[0]['human_detections']} / {rows[0]['combined_detections']} |" in table
    assert "detection increment" in capsys.readouterr().out


def test_integer_ticks_are_whole_reports_within_the_day():
    from benchmarks.online import integer_ticks

    assert integer_ticks(1) == [1] and integer_ticks(0) == [1] and integer_ticks(3) == [1, 2, 3]
    for count in (7, 72, 361, 5000):
        ticks = integer_ticks(count)
        assert 3 <= len(ticks) <= 11 and all(isinstance(t, int) and 1 <= t <= count for t in ticks)
        assert ticks == sorted(set(ticks))


def test_bench_online_is_seeded_and_its_plot_names_the_base_source_used(indexed_snapshot, tmp_path):
    from benchmarks.online import Args, figure_data, plot_title

    first, second = tmp_path / "a", tmp_path / "b"
    flags = ("--human", "tfidf", "--models", "textrank", "--recall", "0.8", "--seed", "3")
    for out in (first, second):
        assert run_online(indexed_snapshot, out, *flags) == 0
    read = [json.loads((out / "results.json").read_text()) for out in (first, second)]
    assert read[0]["rows"] == read[1]["rows"] and read[0]["cumulative"] == read[1]["cumulative"]
    cumulative = read[0]["cumulative"]
    assert list(cumulative) == ["tfidf (as human)", "tfidf (as human) + textrank"]  # not "human"
    args = Args(snapshot=str(indexed_snapshot.path), human="tfidf", models=("textrank",), split=("train", "dev", "test"),
                seed=3)
    data = figure_data(cumulative, plot_title(args, cumulative))
    reports = indexed_snapshot.reports.num_rows
    assert data.base == "tfidf (as human)" and data.lines == cumulative
    assert data.title.startswith(f"a simulated day: {indexed_snapshot.path}, train,dev,test split, {reports} reports")
    assert "keyword, k=100, removal dynamics, seed 3" in data.title
    assert data.xticks and all(isinstance(t, int) and 1 <= t <= reports for t in data.xticks)
    assert "reports" in data.xlabel and "cumulative" in data.ylabel


def test_day_order_is_a_seeded_permutation():
    queries = {f"r{i}": [f"q{i}"] for i in range(20)}
    assert day_order(queries, 1) == day_order(queries, 1)
    assert list(day_order(queries, 1)) != list(day_order(queries, 2))
    assert sorted(day_order(queries, 1).items()) == sorted(queries.items())


def test_bench_online_rejects_bad_settings(indexed_snapshot, tmp_path, capsys):
    assert run_online(indexed_snapshot, tmp_path, "--mode", "sparse") == 2
    assert run_online(indexed_snapshot, tmp_path, "--dynamics", "delayed") == 2  # delayed needs --delay >= 1
    assert run_online(indexed_snapshot, tmp_path, "--models", "") == 2
    assert "unknown mode 'sparse'; choose from keyword, embedding, graph, hybrid" in capsys.readouterr().err
