"""``qx bench online``: a simulated day with removal, human vs human + model queries (Table 7)."""

from __future__ import annotations

import json

from benchmarks._common import split_specs
from benchmarks.online import day_order
from qx_env.cli import main

COLUMNS = {"model", "human_detections", "combined_detections", "detection_increment", "human_hit_queries",
           "combined_hit_queries", "hit_query_increment", "model_queries", "shared_with_human", "model_hit_rate"}


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
    assert set(result["cumulative"]) == {"human", "human + tfidf", "human + ngram:top=2,min_n=2"}
    for values in result["cumulative"].values():
        assert len(values) == reports and values == sorted(values)  # one point per report, never falling
    assert result["cumulative"]["human"][-1] == rows[0]["human_detections"]
    assert result["config"]["dynamics"] == "removal"
    assert (out / "online.png").stat().st_size > 1000
    table = (out / "table.md").read_text()
    assert "detection increment" in table and "hit query increment" in table
    assert "detection increment" in capsys.readouterr().out


def test_bench_online_is_seeded(indexed_snapshot, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert run_online(indexed_snapshot, out, "--models", "tfidf", "--recall", "0.8", "--seed", "3") == 0
    read = [json.loads((out / "results.json").read_text()) for out in (first, second)]
    assert read[0]["rows"] == read[1]["rows"] and read[0]["cumulative"] == read[1]["cumulative"]


def test_day_order_is_a_seeded_permutation():
    queries = {f"r{i}": [f"q{i}"] for i in range(20)}
    assert day_order(queries, 1) == day_order(queries, 1)
    assert list(day_order(queries, 1)) != list(day_order(queries, 2))
    assert sorted(day_order(queries, 1).items()) == sorted(queries.items())


def test_split_specs_keeps_a_specs_options_with_it():
    assert split_specs("annotation, llm:path=m,num_beams=4,tfidf:top=3") == ["annotation", "llm:path=m,num_beams=4",
                                                                            "tfidf:top=3"]
    assert split_specs("") == []


def test_bench_online_rejects_bad_settings(indexed_snapshot, tmp_path, capsys):
    assert run_online(indexed_snapshot, tmp_path, "--mode", "sparse") == 2
    assert run_online(indexed_snapshot, tmp_path, "--dynamics", "delayed") == 2  # delayed needs --delay >= 1
    assert run_online(indexed_snapshot, tmp_path, "--models", "") == 2
    assert "unknown mode" in capsys.readouterr().err
