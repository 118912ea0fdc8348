"""Mining resumes and shards exactly; trl's SFT and DPO trainers take our data on the tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qx_env import QxError
from training import (
    TrainArgs,
    mine_feedback,
    pair_rows,
    read_feedback,
    sft_rows,
    train_dpo,
    train_sft,
    write_jsonl,
)

POLICIES = ["annotation", "tfidf:top=2", "ngram:top=2"]


@pytest.fixture(scope="module")
def feedback(indexed_snapshot, tmp_path_factory):
    out = tmp_path_factory.mktemp("feedback") / "log"
    mine_feedback(indexed_snapshot, POLICIES, out, split=["train", "dev", "test"], chunk=4, progress=False)
    return read_feedback(out)


def test_interrupted_mining_resumes_to_the_same_log(indexed_snapshot, feedback, tmp_path):
    out = tmp_path / "log"
    mine_feedback(indexed_snapshot, POLICIES, out, split=["train", "dev", "test"], chunk=4, progress=False,
                  stop_after=2)
    assert len(list(out.glob("part-*.parquet"))) == 2
    mine_feedback(indexed_snapshot, POLICIES, out, split=["train", "dev", "test"], chunk=4, progress=False)
    assert read_feedback(out).equals(feedback)
    assert not list(out.glob(".*tmp"))


def test_shards_together_equal_one_process(indexed_snapshot, feedback, tmp_path):
    out = tmp_path / "sharded"
    for shard in (0, 1):
        mine_feedback(indexed_snapshot, POLICIES, out, split=["train", "dev", "test"], chunk=4, shards=2,
                      shard=shard, progress=False)
    assert read_feedback(out).equals(feedback)


def test_mining_refuses_other_settings_or_foreign_directories(indexed_snapshot, tmp_path):
    out = tmp_path / "log"
    mine_feedback(indexed_snapshot, ["tfidf"], out, chunk=100, progress=False)
    with pytest.raises(QxError, match="other settings.*policies"):
        mine_feedback(indexed_snapshot, ["ngram"], out, chunk=100, progress=False)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "x.txt").write_text("keep")
    with pytest.raises(QxError, match="not a feedback log"):
        mine_feedback(indexed_snapshot, ["tfidf"], tmp_path / "notes", progress=False)


def test_feedback_columns(feedback):
    rows = feedback.to_pylist()
    assert {r["policy"] for r in rows} == set(POLICIES)
    assert all(0 <= r["toxic_ratio"] <= 1 and r["toxic_hits"] <= r["exposed"] <= 100 for r in rows)


def test_sft_then_dpo_steps_on_the_tiny_model(indexed_snapshot, feedback, tiny_model, tmp_path):
    sft = write_jsonl(sft_rows(feedback, indexed_snapshot), tmp_path / "sft.jsonl")
    pairs = write_jsonl(pair_rows(feedback, indexed_snapshot), tmp_path / "pairs.jsonl")
    final = train_sft(TrainArgs(base=str(tiny_model), data=str(sft), out=str(tmp_path / "sft"), lora=False,
                                learning_rate=1e-3, max_steps=2, batch_size=2, max_length=256))
    card = json.loads((tmp_path / "sft" / "run_card.json").read_text())
    assert card["kind"] == "sft" and card["rows"] > 0 and len(card["data_sha256"]) == 64
    dpo = train_dpo(TrainArgs(base=str(final), data=str(pairs), out=str(tmp_path / "dpo"), lora=True,
                              learning_rate=1e-3, max_steps=2, batch_size=2, max_length=256))
    assert (dpo / "adapter_config.json").is_file()
    from policies import make_policy

    policy = make_policy(f"llm:path={final},adapter={dpo},max_new_tokens=8", indexed_snapshot)
    assert len(policy.extract(indexed_snapshot.report_texts()[:2])) == 2


def test_dpo_refuses_pairs_whose_chosen_equals_rejected(tiny_model, tmp_path):
    prompt = [{"role": "user", "content": "x"}]
    same = [{"role": "assistant", "content": "y"}]
    data = write_jsonl([{"prompt": prompt, "chosen": same, "rejected": same}], tmp_path / "p.jsonl")
    with pytest.raises(QxError, match="chosen equals rejected"):
        train_dpo(TrainArgs(base=str(tiny_model), data=str(data), out=str(tmp_path / "o"), max_steps=1))


def test_grpo_steps_against_the_environment(indexed_snapshot, tiny_model, tmp_path):
    from training import EnvironmentRewards, GRPOArgs, train_grpo

    rewards = EnvironmentRewards(indexed_snapshot)
    good = [p for row in indexed_snapshot.reports.to_pylist() for p, kind in zip(row["annotations"],
                                                                                  row["annotation_kinds"]) if kind == "good"]
    answers = [[{"role": "assistant", "content": f"提取的风险排查关键词集合如下，以英文逗号分隔：{','.join(good[:3])}"}],
               [{"role": "assistant", "content": "no format"}]]
    toxic_found, answer_format = rewards.reward_funcs
    assert (toxic_found.__name__, answer_format.__name__) == ("distinct_toxic_log", "format")
    found = toxic_found(None, answers)
    step = rewards.step(answers[0])
    distinct = len({p for q in step.queries for p in q.toxic.tolist()})
    assert found[0] == pytest.approx(np.log1p(distinct)) and distinct > 0 and found[1] == 0
    assert answer_format(None, answers) == [0.0, -1.0]
    with pytest.raises(QxError, match="unknown GRPO reward term"):
        EnvironmentRewards(indexed_snapshot, terms=("found",))
    final = train_grpo(GRPOArgs(base=str(tiny_model), out=str(tmp_path / "grpo"), snapshot=str(indexed_snapshot.path),
                                split=("train", "dev", "test"), max_steps=2, batch_size=4, num_generations=4,
                                max_completion_length=16, learning_rate=1e-3))
    card = json.loads((tmp_path / "grpo" / "run_card.json").read_text())
    assert card["kind"] == "grpo" and (final / "adapter_config.json").is_file()
    logged = {key for entry in card["log"] for key in entry}
    assert any("distinct_toxic_log" in key for key in logged) and any("format" in key for key in logged)


def test_loop_round_then_resume(indexed_snapshot, tiny_model, tmp_path):
    from training import LoopArgs, train_loop

    args = LoopArgs(snapshot=str(indexed_snapshot.path), base=str(tiny_model), out=str(tmp_path / "loop"), rounds=1,
                    candidates=2, epochs=1.0, batch_size=4, max_length=256, learning_rate=1e-3, eval_split="dev")
    first = train_loop(args)
    assert len(first) == 1 and "query_hit_rate" in first[0]["dev"]
    assert train_loop(args) == first  # a finished round is not redone
