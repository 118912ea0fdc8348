"""The warm start for tool use: SFT rows in the TRL environment's own format (its prompt, its tool schema,
its tool's answers), a tiny model whose default chat template renders tools, and the path a user takes:
SFT on the rows, then GRPO with the environment factory, in which the model calls the search tool and
earns reward from the first steps (a fresh model calls none)."""

from __future__ import annotations

import json

import pytest

from policies import TinyModelConfig, build_tiny_model, messages
from qx_env import QxError
from qx_env.cli import main
from qx_env.parsers import parse_answer
from training import (
    GRPOArgs,
    SearchEnvironment,
    TrainArgs,
    tool_call_rows,
    tool_rows,
    tool_texts,
    train_grpo,
    train_sft,
    write_jsonl,
)

#: The environment's options, the same for the SFT rows and the GRPO rollouts (the tool's answers depend on them).
OPTIONS = {"observe_results": 1, "result_chars": 40}
#: A small model with the default (tool-capable) template and the tool tags as tokens, as `qx model tiny` makes.
SMALL = TinyModelConfig(vocab_size=3000, hidden_size=96, layers=2, heads=2, kv_heads=1, intermediate_size=192,
                        tool_tokens=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """1,500 zh items at 6% toxic (seed 5) with a fifth of them reported: a dozen training reports, few enough
    for the tiny model to learn their tool calls in a minute. Keyword index built."""
    from indexes import build_indexes
    from qx_env import Snapshot
    from qx_env.corpus import SynthConfig, synthesize

    config = SynthConfig(language="zh", items=1500, toxic_share=0.06, seed=5, report_share=0.2)
    snapshot = Snapshot.load(synthesize(config, progress=False).save(tmp_path_factory.mktemp("tool-world") / "zh"))
    build_indexes(snapshot, modes=("keyword",), progress=False)
    return snapshot


@pytest.fixture(scope="module")
def rows(world) -> list[dict]:
    return tool_call_rows(world, "annotation", "train", **OPTIONS)


@pytest.fixture(scope="module")
def tiny(world, tmp_path_factory):
    """The small model, its tokenizer also trained on the tool texts (as `qx model tiny` does)."""
    return build_tiny_model(world, tmp_path_factory.mktemp("tiny") / "model", SMALL, extra_texts=tool_texts("zh") * 32)


def _log(run) -> list[dict]:
    """The logged GRPO steps of a run whose final model is ``run``."""
    log = json.loads((run.parent / "run_card.json").read_text())["log"]
    return [entry for entry in log if "tools/call_frequency" in entry]


def test_rows_are_the_environments_own_conversations(world, rows, tiny):
    from transformers import AutoTokenizer

    sources = {row["report_id"]: row for row in tool_rows(world, "train")}
    annotations = dict(zip(world.reports.column("report_id").to_pylist(),
                           world.reports.column("annotations").to_pylist()))
    assert 0 < len(rows) <= len(sources)
    env = SearchEnvironment(world.path, split="train", **OPTIONS)
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    for row in rows:
        source = sources[row["report_ids"][0]]
        report = env.reset(**source)
        assert row["prompt"] == [{"role": "user", "content": source["prompt"][0]["content"] + report}]
        call, answer, final = row["completion"]
        query = call["tool_calls"][0]["function"]["arguments"]["query"]
        assert query in annotations[source["report_id"]]  # the auditors' phrase
        assert answer == {"role": "tool", "name": "search", "content": env.search(query)}
        assert env.get_reward() == row["reward"] > 0
        assert parse_answer(final["content"]).queries == (query,)
    # the prompt SFT renders (schemas from the row) is the one GRPO renders (the env's bound tool)
    assert json.loads(rows[0]["tools"]) == SearchEnvironment.tool_schemas()
    sft_view = tokenizer.apply_chat_template(rows[0]["prompt"], tools=json.loads(rows[0]["tools"]),
                                             add_generation_prompt=True, tokenize=False)
    assert sft_view == tokenizer.apply_chat_template(rows[0]["prompt"], tools=[env.search], add_generation_prompt=True,
                                                     tokenize=False)
    assert "<tools>" in sft_view and '"name": "search"' in sft_view


def test_several_calls_replay_one_episode(world):
    rows = tool_call_rows(world, ["annotation", "tfidf"], "train", calls=2, **OPTIONS)
    two = [row for row in rows if len(row["completion"]) == 5]
    assert two, "some report has two rewarded queries"
    env = SearchEnvironment(world.path, split="train", **OPTIONS)
    source = {r["report_id"]: r for r in tool_rows(world, "train")}[two[0]["report_ids"][0]]
    env.reset(**source)
    calls = two[0]["completion"][0:4:2]
    queries = [c["tool_calls"][0]["function"]["arguments"]["query"] for c in calls]
    assert len(set(queries)) == 2
    # the second answer is the one after the first search's removals, as in the episode GRPO runs
    assert [env.search(q) for q in queries] == [m["content"] for m in two[0]["completion"][1:4:2]]
    assert "3 search(es) left" in two[0]["completion"][3]["content"]


def test_the_tiny_template_renders_tools_and_the_papers_prompts_as_before(tiny):
    from transformers import AutoTokenizer
    from trl.chat_template_utils import supports_tool_calling

    from policies._tiny_model import CHAT_TEMPLATE, build_tokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    assert supports_tool_calling(tokenizer)
    assert len(tokenizer("<tool_call>", add_special_tokens=False)["input_ids"]) == 1
    conversation = [*messages("出售一比一复刻手表", "zh"), {"role": "assistant", "content": "复刻手表"}]
    for turns, generation in ((conversation, False), (conversation[:2], True)):
        assert (tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=generation)
                == tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=generation,
                                                 chat_template=CHAT_TEMPLATE))
    assert not supports_tool_calling(build_tokenizer(["x"], 300, "chatml"))
    with pytest.raises(QxError, match="unknown chat template 'llama'"):
        build_tokenizer(["x"], 300, "llama")


def test_sft_on_tool_calls_then_grpo_calls_the_tool_and_earns_reward(world, rows, tiny, tmp_path):
    grpo = {"snapshot": str(world.path), "tools": True, "max_steps": 2, "batch_size": 8, "num_generations": 4,
            "max_completion_length": 96, "learning_rate": 1e-4, "lora": False, "logging_steps": 1, **OPTIONS}
    before = _log(train_grpo(GRPOArgs(base=str(tiny), out=str(tmp_path / "grpo-before"), **{**grpo, "max_steps": 1})))
    assert [entry["tools/call_frequency"] for entry in before] == [0.0]  # a fresh model calls no tool

    data = write_jsonl(rows, tmp_path / "tool_sft.jsonl")
    sft = train_sft(TrainArgs(base=str(tiny), data=str(data), out=str(tmp_path / "sft"), lora=False, learning_rate=5e-3,
                              epochs=40, batch_size=4, max_length=1024, logging_steps=20))
    after = _log(train_grpo(GRPOArgs(base=str(sft), out=str(tmp_path / "grpo"), **grpo)))
    assert len(after) == 2
    assert max(entry["tools/call_frequency"] for entry in after) > 0
    assert max(entry["rewards/SearchEnvironment/mean"] for entry in after) > 0


def test_wrong_inputs_are_named(world, rows, tmp_path):
    chatml = build_tiny_model(["出售一比一复刻手表"] * 20, tmp_path / "chatml",
                              TinyModelConfig(vocab_size=300, hidden_size=16, layers=1, heads=1, kv_heads=1,
                                              intermediate_size=16, chat_template="chatml"))
    data = write_jsonl(rows[:2], tmp_path / "tool_sft.jsonl")
    with pytest.raises(QxError, match="renders no tool calls"):
        train_sft(TrainArgs(base=str(chatml), data=str(data), out=str(tmp_path / "sft"), max_steps=1))
    with pytest.raises(QxError, match="renders no tool calls"):
        train_grpo(GRPOArgs(base=str(chatml), out=str(tmp_path / "grpo"), snapshot=str(world.path),
                            tools=True, max_steps=1))
    with pytest.raises(QxError, match="reads the hidden labels"):
        tool_call_rows(world, "oracle")
    with pytest.raises(QxError, match="exceed the episode's budget"):
        tool_call_rows(world, calls=3, budget=2)


def test_qx_mine_toolcalls_writes_the_rows(world, rows, tmp_path, capsys):
    out = tmp_path / "tool_sft.jsonl"
    assert main(["mine", "toolcalls", str(world.path), "--out", str(out), "--observe-results", "1",
                 "--result-chars", "40"]) == 0
    assert f"wrote {out}: {len(rows)} conversations ({len(rows)} tool calls)" in capsys.readouterr().out
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == rows
    assert main(["mine", "toolcalls", str(world.path), "--out", str(out), "--calls", "0"]) == 2
    assert capsys.readouterr().err.strip() == "qx: error: calls must be at least 1, got 0"


def test_qx_model_tiny_learns_the_tool_prompt(world, tmp_path, capsys):
    from transformers import AutoTokenizer

    env = SearchEnvironment(world.path, split="train", **OPTIONS)
    row = tool_rows(world, "train")[0]
    prompt = [{"role": "user", "content": row["prompt"][0]["content"] + env.reset(**row)}]
    lengths = {}
    for copies in ("32", "0"):
        out = tmp_path / f"tiny-{copies}"
        assert main(["model", "tiny", "--snapshot", str(world.path), "--out", str(out), "--vocab-size", "2000",
                     "--hidden-size", "16", "--layers", "1", "--heads", "1", "--kv-heads", "1",
                     "--intermediate-size", "16", "--tool-texts", copies]) == 0
        tokenizer = AutoTokenizer.from_pretrained(out)
        lengths[copies] = len(tokenizer.apply_chat_template(prompt, tools=[env.search], add_generation_prompt=True,
                                                            tokenize=True, return_dict=False))
        assert len(tokenizer("</tool_call>", add_special_tokens=False)["input_ids"]) == 1  # on by default here
    assert lengths["32"] < 0.6 * lengths["0"]
    capsys.readouterr()
    assert main(["model", "tiny", "--snapshot", str(world.path), "--out", str(tmp_path / "x"), "--tool-texts", "-1"]) == 2
    assert capsys.readouterr().err.strip() == "qx: error: --tool-texts must be 0 or more, got -1"
