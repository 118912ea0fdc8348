"""``qx play`` driven by a pipe and ``qx eval`` on a JSONL file."""

from __future__ import annotations

import io
import json
import sys

import qx_env
from qx_env.cli import main
from qx_env.files import file_sha256
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


def _queries_file(snapshot, path):
    rows = snapshot.reports.to_pylist()
    path.write_text("".join(json.dumps({"report_id": r["report_id"], "queries": r["annotations"]},
                                       ensure_ascii=False) + "\n" for r in rows[:5]))
    return path


def test_eval_json_is_byte_identical_and_carries_its_context(indexed_snapshot, tmp_path, capsys):
    path = _queries_file(indexed_snapshot, tmp_path / "q.jsonl")
    argv = ["eval", str(indexed_snapshot.path), "--split", "train,dev,test", "-k", "20", "--candidates", "50"]
    outputs = []
    for source in (["--queries", str(path)], ["--queries", str(path)], ["--policy", "tfidf:top=2"],
                   ["--policy", "tfidf:top=2"]):
        assert main([*argv, *source, "--json"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and outputs[2] == outputs[3]
    row = json.loads(outputs[2])
    assert "timings" not in row and "extract_ms_per_report" not in row
    context = row["context"]
    assert context == {"source": {"policy": "tfidf:top=2"}, "split": ["train", "dev", "test"], "modes": ["keyword"],
                       "match": "exact", "k": 20, "candidates": 50, "ranker": "retrieval", "dynamics": "static",
                       "snapshot": {"name": indexed_snapshot.meta.name, "fingerprint": indexed_snapshot.fingerprint},
                       "split_rule": indexed_snapshot.split_rule, "qx_env": qx_env.__version__}
    per_report = row["per_report"]
    assert per_report["report_id"] == indexed_snapshot.reports.column("report_id").to_pylist()
    assert per_report["campaign"] == indexed_snapshot.report_campaigns()
    assert sum(per_report["queries"]) == row["queries"] and sum(per_report["hits"]) == row["hit@20"]
    assert json.loads(outputs[0])["context"]["source"] == {"queries": str(path), "sha256": file_sha256(path)}
    assert main([*argv, "--policy", "tfidf:top=2", "--json", "--timings"]) == 0
    timed = json.loads(capsys.readouterr().out)
    assert timed["timings"]["extract_ms_per_report"] >= 0 and {k: v for k, v in timed.items() if k != "timings"} == row


def test_eval_queries_that_are_no_file_name_the_problem(indexed_snapshot, tmp_path, capsys):
    assert main(["eval", str(indexed_snapshot.path), "--queries", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"qx: error: queries file {tmp_path} is a directory, not a JSONL file"
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"report_id": "r000000", "queries": ["a"]}\n{"report_id": "r1", "queries": ["caf\xe9"]}\n'
                     .encode("latin-1"))
    assert main(["eval", str(indexed_snapshot.path), "--queries", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (f"qx: error: queries file {path}:2: not UTF-8 (byte 0xe9 at byte 37 "
                                               f"of the line, offset 79 in the file)")


def _play(monkeypatch, capsys, snapshot, typed, *flags):
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    code = main(["play", str(snapshot.path), "--split", "train,dev,test", "-k", "20", "--candidates", "50", *flags])
    return code, capsys.readouterr()


def test_play_cuts_long_queries_visibly_and_sums_up_at_the_end(indexed_snapshot, monkeypatch, capsys):
    long = "转让" * 1000  # 2,000 characters: the search engine gets the first 512
    code, out = _play(monkeypatch, capsys, indexed_snapshot, f"{long}\n\x1b[D\x1b[A\n转让\x1b[D\x1b[D\n", "--budget", "5")
    assert code == 0
    text = out.out
    assert "several in one step" in text.lower() and "，以英文逗号分隔：q1,q2" in text
    assert "a query of 2000 characters was cut at 512" in text
    assert repr(long[:512]) in text and long[:513] not in text
    assert "\x1b" not in text and "'转让'" in text  # the arrow keys were dropped, not searched
    assert text.rstrip().splitlines()[-1].startswith("=== 1 episode(s) (the last unfinished): 2 queries, ")
    assert "reward" in text.rstrip().splitlines()[-1]


def test_play_refuses_bad_counts(indexed_snapshot, monkeypatch, capsys):
    code, out = _play(monkeypatch, capsys, indexed_snapshot, "", "--episodes", "-1")
    assert code == 2 and out.err.strip() == "qx: error: --episodes must be >= 0 (0: until input ends), got -1"


def _into_a_closed_pipe(*argv):
    """Run ``qx argv`` with stdout a pipe whose reader has already gone (``| head`` that has read
    its lines); returns the exit status and stderr."""
    import os
    import subprocess

    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "qx_env", *argv], check=False, stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=300)
    finally:
        os.close(write)
    return done.returncode, done.stderr


def test_output_into_a_pipe_closed_early_ends_quietly(indexed_snapshot):
    for argv in (["corpus", "info", str(indexed_snapshot.path), "--samples", "200"],
                 ["search", str(indexed_snapshot.path), "转让"]):
        code, err = _into_a_closed_pipe(*argv)
        assert code == 141, (argv, err)
        assert not any(word in err for word in ("Traceback", "BrokenPipe", "Exception ignored")), err


def test_eval_on_a_split_without_reports_is_refused_not_zeros(tmp_path, capsys):
    from qx_env import Snapshot

    directory = tmp_path / "tiny"
    assert main(["corpus", "synth", "--items", "10", "--out", str(directory), "--quiet"]) == 0
    counts = Snapshot.load(directory).meta.counts["splits"]
    empty = next(split for split in ("train", "dev", "test") if not counts.get(split))
    capsys.readouterr()
    assert main(["eval", str(directory), "--annotations", "--split", empty]) == 2
    err = capsys.readouterr().err
    assert f"split '{empty}'" in err and "has no reports" in err and "--split" in err
