"""``qx play`` driven by a pipe and ``qx eval`` on a JSONL file."""

from __future__ import annotations

import io
import json
import sys

from qx_env.cli import main
from qx_env.parsers import format_answer


def test_eval_prints_the_table5_row(indexed_snapshot, tmp_path, capsys):
    rows = indexed_snapshot.reports.to_pylist()
    path = tmp_path / "queries.jsonl"
    lines = [{"report_id": r["report_id"], "queries": r["annotations"]} for r in rows[:3]]
    lines.append({"report_id": rows[3]["report_id"], "answer": format_answer(["转让", "毕业"])})
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    splits = ["--split", "train,dev,test"]
    assert main(["eval", str(indexed_snapshot.path), "--queries", str(path), "--json", *splits]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["reports"] == 4 and row["queries"] >= 2 and 0 <= row["query_hit_rate"] <= 1
    assert main(["eval", str(indexed_snapshot.path), "--queries", str(path), *splits]) == 0
    assert "| hit@100 |" in capsys.readouterr().out


def test_eval_bad_files_name_the_line(indexed_snapshot, tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"report_id": "r000000", "queries": ["a"]}\nnot json\n')
    assert main(["eval", str(indexed_snapshot.path), "--queries", str(path)]) == 2
    assert "bad.jsonl:2: not JSON" in capsys.readouterr().err
    path.write_text('{"report_id": "nope", "queries": ["a"]}\n')
    assert main(["eval", str(indexed_snapshot.path), "--queries", str(path)]) == 2
    assert "not in split" in capsys.readouterr().err


def test_play_from_a_pipe(indexed_snapshot, monkeypatch, capsys):
    typed = "转让\n\n" + format_answer(["毕业", "同城"]) + "\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    assert main(["play", str(indexed_snapshot.path), "--budget", "3", "--episodes", "1", "--split",
                 "train,dev,test"]) == 0
    out = capsys.readouterr().out
    assert "=== report" in out and "'转让'" in out and "'同城'" in out
    assert "episode over: 3 queries" in out
