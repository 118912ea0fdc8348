"""TRL's ``environment_factory``: the search tool, episodes from dataset rows, the env's reward,
isolated removal state per rollout, pickling, and a real ``trl.GRPOTrainer`` on the tiny model."""

from __future__ import annotations

import json
import os
import pickle

import pytest

from qx_env import QxError
from qx_env.envs import ExploreEnv
from qx_env.search import AuditedSearch, SearchSystem
from training import SearchEnvironment, tool_rows

REWARD = "new_toxic+0.1*query_cost"


@pytest.fixture(scope="module")
def queries(snapshot) -> list[str]:
    """Annotated phrases that expose toxic items besides the reported ones, most toxic first."""
    known = [snapshot.position_of[i] for i in snapshot.reports_in("train").column("item_id").to_pylist()]
    audit = AuditedSearch(SearchSystem(snapshot), "static", known=known)
    phrases = sorted({p for row in snapshot.reports.column("annotations").to_pylist() for p in row})
    found = sorted(((audit.run(p).toxic_hits, p) for p in phrases), key=lambda hit: (-hit[0], hit[1]))
    return [p for hits, p in found if hits][:4]


def env_rewards(snapshot, report_id, queries, **options) -> list[float]:
    env = ExploreEnv(snapshot.path, **options)
    env.reset(options={"report_id": report_id})
    return [env.step(q)[1] for q in queries]


def test_reward_equals_the_envs_for_the_same_queries(snapshot, queries):
    rows = tool_rows(snapshot.path, "train")
    first, second = SearchEnvironment(snapshot.path, reward=REWARD), SearchEnvironment(snapshot.path, reward=REWARD)
    report = first.reset(**rows[0])
    assert snapshot.report_texts(snapshot.reports_in("train"))[0] in report
    second.reset(**rows[1])
    outputs = []
    for query in queries[:3]:  # interleaved: each instance's removals stay its own
        outputs.append(first.search(query))
        second.search(query)
    expected = env_rewards(snapshot, rows[0]["report_id"], queries[:3], reward=REWARD, dynamics="removal",
                           split="train")
    assert first.get_reward() == pytest.approx(sum(expected)) and first.get_reward() > 0
    assert second.get_reward() == pytest.approx(sum(env_rewards(snapshot, rows[1]["report_id"], queries[:3],
                                                               reward=REWARD, dynamics="removal", split="train")))
    # the tool reports the observation's counts: exposed, detected, budget, result texts; never ids or labels
    assert "items exposed" in outputs[0] and "4 search(es) left" in outputs[0] and "\n1. " in outputs[0]
    assert not any(item_id in "".join(outputs) for item_id in snapshot.ids[:50])


def test_rollouts_of_a_group_start_alike_and_pickle_without_the_backend(snapshot, queries):
    row = tool_rows(snapshot.path, "train")[0]
    factory = SearchEnvironment.factory(snapshot.path, observe_results=0)
    a, b = factory(), factory()
    a.reset(**row)
    b.reset(**row)
    first = a.search(queries[0])
    assert b.search(queries[0]) == first  # a's detections were removed from a only
    assert "0 detected" in a.search(queries[0])  # removal: a second look finds nothing new
    a.reset(**row)  # a pooled instance reused for the next group starts from the snapshot again
    assert a.search(queries[0]) == first
    data = pickle.dumps(a)
    assert len(data) < 4000  # options only: no snapshot, no index, no search system
    c = pickle.loads(data)
    c.reset(**row)
    assert c.search(queries[0]) == first and c.get_reward() == a.get_reward() > 0
    assert pickle.loads(pickle.dumps(factory))().reset(**row) == a.reset(**row)


def test_bad_input_is_named(snapshot, queries):
    env = SearchEnvironment(snapshot.path, budget=1)
    with pytest.raises(QxError, match="reset"):
        env.search("x")
    with pytest.raises(QxError, match="report_id"):
        env.reset(prompt="no id")
    with pytest.raises(QxError, match="unknown report id"):
        env.reset(report_id="nope")
    env.reset(**tool_rows(snapshot.path, "train")[0])
    with pytest.raises(QxError, match="must be a string"):
        env.search(3)
    assert "nothing to search" in env.search("\x00")
    env.search(queries[0])
    assert env.search(queries[1]) == "No searches are left in this episode."
    with pytest.raises(QxError, match="reward term"):
        SearchEnvironment.factory(snapshot.path, reward="new_toxic+bogus")
    with pytest.raises(QxError, match="budget"):
        SearchEnvironment(snapshot.path, budget=0)


def test_grpo_trainer_logs_the_environments_rewards(snapshot, queries, tmp_path):
    """A tiny model taught to call the tool once (about 160 tiny steps), then two GRPO steps:
    the tool runs, and the episodes' rewards reach the trainer's logs under the class name."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer
    from trl.chat_template_utils import qwen2_5_chat_template

    from policies import build_tiny_model
    from policies._tiny_model import TinyModelConfig, build_tokenizer

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    options = {"split": "train", "observe_results": 1, "result_chars": 40}
    rows = tool_rows(snapshot.path, "train")[:2]
    env = SearchEnvironment(snapshot.path, **options)
    prompts = [[{**r["prompt"][0], "content": r["prompt"][0]["content"] + env.reset(**r)}] for r in rows]
    arguments = json.dumps({"query": queries[0]}, ensure_ascii=False)
    call = f'<tool_call>\n{{"name": "search", "arguments": {arguments}}}\n</tool_call><|im_end|>'
    # the tiny model's ChatML template renders no tool calls: this test's model takes Qwen2.5's, which does
    scratch = build_tokenizer(["x"], 300)
    scratch.chat_template = qwen2_5_chat_template
    rendered = [scratch.apply_chat_template(p, tools=[env.search], add_generation_prompt=True, tokenize=False)
                for p in prompts]
    texts = snapshot.report_texts(snapshot.reports_in("train"))
    path = build_tiny_model(texts, tmp_path / "tiny", TinyModelConfig(vocab_size=2000, hidden_size=64, layers=2,
                                                                      heads=2, kv_heads=1, intermediate_size=128),
                            extra_texts=[rendered[0] + call] * 64)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.chat_template, tokenizer.padding_side = qwen2_5_chat_template, "left"
    model = AutoModelForCausalLM.from_pretrained(path)

    pairs = [(tokenizer.apply_chat_template(p, tools=[env.search], add_generation_prompt=True, tokenize=True,
                                            return_dict=False), tokenizer(call, add_special_tokens=False)["input_ids"])
             for p in prompts]
    width = max(len(p) + len(c) for p, c in pairs)
    starts = torch.tensor([width - len(p) - len(c) for p, c in pairs])
    ids = torch.tensor([[tokenizer.pad_token_id] * int(s) + p + c for s, (p, c) in zip(starts, pairs)])
    mask = (torch.arange(width)[None, :] >= starts[:, None]).long()
    labels = torch.tensor([[-100] * (width - len(c)) + c for _, c in pairs])
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(400):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if loss.item() < 0.005:
            break

    config = GRPOConfig(output_dir=str(tmp_path / "grpo"), max_steps=2, per_device_train_batch_size=4,
                        num_generations=4, max_completion_length=128, learning_rate=1e-4, logging_steps=1,
                        report_to=[], use_cpu=True, seed=0, max_tool_calling_iterations=2, save_strategy="no",
                        disable_tqdm=True)
    trainer = GRPOTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                          environment_factory=SearchEnvironment.factory(snapshot.path, **options))
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "rewards/SearchEnvironment/mean" in entry]
    assert len(logged) == 2
    assert max(entry["tools/call_frequency"] for entry in logged) > 0
    assert max(entry["rewards/SearchEnvironment/mean"] for entry in logged) > 0
