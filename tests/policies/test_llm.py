"""The LLM policy on the tiny local model: end to end, the paper's answer format in both languages."""

from __future__ import annotations

import pytest
import torch

from policies import TinyModelConfig, build_tiny_model, make_policy, messages
from qx_env import QxError
from qx_env.parsers import ANSWER_PREFIXES

SMALL = TinyModelConfig(vocab_size=700, hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate_size=64)


@pytest.fixture(scope="module")
def tiny(synth_snapshot, tmp_path_factory):
    return build_tiny_model(synth_snapshot, tmp_path_factory.mktemp("tiny") / "model", SMALL)


def _teach(path, text, queries, language, steps=100):
    """Fit the tiny model on one prompt -> answer pair, so greedy decoding reproduces the answer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    prompt = tokenizer.apply_chat_template(messages(text, language), add_generation_prompt=True, tokenize=False)
    target = ANSWER_PREFIXES[language] + ",".join(queries) + tokenizer.eos_token
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + tokenizer(target, add_special_tokens=False)["input_ids"]])
    labels = ids.clone()
    labels[0, : len(prompt_ids)] = -100  # learn the answer only
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    torch.manual_seed(0)
    for _ in range(steps):
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(path)


@pytest.mark.parametrize(("language", "text", "queries"), [
    ("zh", "出售红腹水虎小苗，同城自提", ["红腹水虎", "小苗"]),
    ("en", "red bellied piranha fry, local pickup", ["red bellied piranha", "fry"]),
])
def test_taught_model_answers_in_the_paper_format(tiny, tmp_path, language, text, queries):
    import shutil

    path = tmp_path / "taught"
    shutil.copytree(tiny, path)
    _teach(path, text, queries, language)
    policy = make_policy(f"llm:path={path},language={language},max_new_tokens=200")
    assert policy.extract([text]) == [queries]
    assert queries in policy.candidates(text, 2)


def test_untrained_model_runs_end_to_end(tiny, synth_snapshot):
    policy = make_policy(f"llm:path={tiny},max_new_tokens=8,batch_size=2", synth_snapshot)
    texts = synth_snapshot.report_texts()[:3]
    out = policy.extract(texts + [""])
    assert len(out) == 4 and out[-1] == [] and all(isinstance(q, list) for q in out)
    sampled = make_policy(f"llm:path={tiny},max_new_tokens=8,temperature=0.9,seed=3", synth_snapshot)
    assert sampled.generate(texts[:1], num_return_sequences=2)[0] == sampled.generate(texts[:1], 2)[0]


def test_long_reports_are_cut_with_a_warning(tiny):
    policy = make_policy(f"llm:path={tiny},max_new_tokens=4,max_input_tokens=64,language=zh")
    with pytest.warns(UserWarning, match="cut to 64"):
        assert policy.extract(["红腹水虎" * 25_000]) in ([[]], [list(q) for q in policy.extract(["x"])])


def test_bad_model_paths(tmp_path):
    with pytest.raises(QxError, match="needs path=DIR"):
        make_policy("llm")
    with pytest.raises(QxError, match="not a Hugging Face model directory"):
        make_policy(f"llm:path={tmp_path / 'nowhere'}")
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=8)).save_pretrained(tmp_path / "bert")
    with pytest.raises(QxError, match="is a BertModel, not a causal language model"):
        make_policy(f"llm:path={tmp_path / 'bert'}")


def test_tiny_model_cli(synth_snapshot, tmp_path, capsys):
    from qx_env.cli import main

    snapshot_path = synth_snapshot.save(tmp_path / "snap")
    assert main(["model", "tiny", "--snapshot", str(snapshot_path), "--out", str(tmp_path / "m"), "--vocab-size",
                 "600", "--hidden-size", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1"]) == 0
    assert "parameters" in capsys.readouterr().out
    assert (tmp_path / "m" / "model.safetensors").is_file() and (tmp_path / "m" / "tokenizer.json").is_file()


def test_token_bytes_spell_the_text(tiny):
    from transformers import AutoTokenizer

    from policies._grounded import token_bytes

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    pieces = token_bytes(tokenizer)
    for text in ("出售红腹水虎小苗，同城自提 vx abc123", "red bellied piranha fry 🐟"):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert b"".join(pieces[i] for i in ids) == text.encode()


def test_grounded_decoding_returns_only_spans_of_the_report(tiny, synth_snapshot):
    texts = synth_snapshot.report_texts()[:4]
    free = make_policy(f"llm:path={tiny},max_new_tokens=24,batch_size=2", synth_snapshot)
    grounded = make_policy(f"llm:path={tiny},max_new_tokens=24,batch_size=2,grounded=true", synth_snapshot)
    answers = grounded.extract(texts)
    assert not any(free.extract(texts))  # the untrained model's own answers are not even well formed
    assert any(answers)
    sampled = make_policy(f"llm:path={tiny},max_new_tokens=24,temperature=1.0,grounded=true", synth_snapshot)
    alternatives = [grounded.candidates(texts[0], 3), sampled.candidates(texts[1], 3)]
    for text, queries in [*zip(texts, answers), (texts[0], alternatives[0][0]), (texts[1], alternatives[1][0])]:
        assert all(q.lower() in text.lower() and 2 <= len(q.strip()) <= 10 for q in queries), (text, queries)


def test_grounded_decoding_keeps_a_learned_extractive_answer(tiny, tmp_path):
    import shutil

    path = tmp_path / "taught"
    shutil.copytree(tiny, path)
    text = "出售红腹水虎小苗，同城自提"
    _teach(path, text, ["红腹水虎", "小苗"], "zh")
    policy = make_policy(f"llm:path={path},language=zh,max_new_tokens=200,grounded=true")
    assert policy.extract([text]) == [["红腹水虎", "小苗"]]
    # on another report the same learned answer is not a span, so something of that report comes back
    other = "九成新山地自行车，车架无划痕"
    assert all(q in other for q in policy.extract([other])[0])
