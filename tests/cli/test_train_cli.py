"""``qx mine`` and ``qx train`` from the command line, a step each on the tiny model."""

from __future__ import annotations

import json

from qx_env.cli import main


def test_mine_then_train(indexed_snapshot, tiny_model, tmp_path, capsys):
    snap = str(indexed_snapshot.path)
    log = tmp_path / "feedback"
    assert main(["mine", "feedback", snap, "--policies", "annotation,ngram", "--policy", "tfidf:top=2",
                 "--split", "train,dev,test", "--out", str(log)]) == 0
    assert main(["mine", "sft", snap, "--feedback", str(log), "--out", str(tmp_path / "sft.jsonl")]) == 0
    assert main(["mine", "pairs", snap, "--feedback", str(log), "--tau", "0.05", "--out",
                 str(tmp_path / "pairs.jsonl")]) == 0
    printed = capsys.readouterr().out
    assert "query rows" in printed and "long-context" in printed and "preference pairs" in printed
    assert main(["train", "sft", "--base", str(tiny_model), "--data", str(tmp_path / "sft.jsonl"), "--out",
                 str(tmp_path / "run"), "--no-lora", "--max-steps", "1", "--batch-size", "2",
                 "--max-length", "256"]) == 0
    card = json.loads((tmp_path / "run" / "run_card.json").read_text())
    assert card["args"]["lora"] is False and card["args"]["epochs"] == 2.0
    assert main(["train", "dpo", "--base", str(tiny_model), "--data", str(tmp_path / "missing.jsonl"), "--out",
                 str(tmp_path / "dpo")]) == 2
    assert "missing.jsonl does not exist" in capsys.readouterr().err


def test_mine_feedback_flags_are_lists_and_policy_repeats():
    from qx_env.cli import build_parser
    from qx_env.cli.train import MineArgs, _specs
    from qx_env.flags import dataclass_from_flags

    args = build_parser().parse_args(["mine", "feedback", "snap", "--policies", "annotation,llm:path=m,num_beams=4",
                                      "--policy", "tfidf:top=2", "--policy", "annotation", "--split", "train,dev",
                                      "--mode", "keyword,graph", "-k", "7", "--out", "log"])
    mine = dataclass_from_flags(MineArgs, args)
    assert mine.split == ("train", "dev") and mine.mode == ("keyword", "graph") and mine.k == 7 and mine.out == "log"
    assert _specs(mine, args.policy) == ["annotation", "llm:path=m,num_beams=4", "tfidf:top=2"]
    defaults = dataclass_from_flags(MineArgs, build_parser().parse_args(["mine", "feedback", "snap", "--out", "log"]))
    assert defaults == MineArgs(out="log") and defaults.split == ("train",) and defaults.mode == ("keyword",)


def test_train_stderr_carries_no_future_warning(tiny_model, tmp_path):
    import subprocess
    import sys

    from training import write_jsonl

    prompt = [{"role": "user", "content": "出售红腹水虎小苗"}]
    pairs = write_jsonl([{"prompt": prompt, "chosen": [{"role": "assistant", "content": c}],
                          "rejected": [{"role": "assistant", "content": r}]} for c, r in (("红腹水虎", "小苗"),
                                                                                          ("水虎", "出售"))],
                        tmp_path / "pairs.jsonl")
    done = subprocess.run([sys.executable, "-W", "default", "-m", "qx_env", "train", "dpo", "--base", str(tiny_model),
                           "--data", str(pairs), "--out", str(tmp_path / "dpo"), "--no-lora", "--max-steps", "1",
                           "--batch-size", "2", "--max-length", "256"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stderr, done.stderr[-2000:]
