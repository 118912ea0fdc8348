"""Training repeats: the same seed gives the same weights and log whatever the process did before;
the run card keeps every logged step and the curves are plotted."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from training import ClassifierArgs, TrainArgs, train_classifier, train_dpo, train_sft, write_jsonl

PROMPT = [{"role": "user", "content": "出售红腹水虎小苗，同城自提"}]


def _answer(text):
    return [{"role": "assistant", "content": f"提取的风险排查关键词集合如下，以英文逗号分隔：{text}"}]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    sft = write_jsonl([{"prompt": PROMPT, "completion": _answer(a)} for a in ("红腹水虎", "小苗", "水虎,小苗", "自提")],
                      root / "sft.jsonl")
    pairs = write_jsonl([{"prompt": PROMPT, "chosen": _answer(c), "rejected": _answer(r)}
                         for c, r in (("红腹水虎", "同城"), ("水虎", "自提"), ("小苗", "出售"))], root / "pairs.jsonl")
    return sft, pairs


def _weights(final):
    return load_file(str(final / ("adapter_model.safetensors" if (final / "adapter_config.json").is_file()
                                  else "model.safetensors")))


def _figures(out):
    """The logged figures of a run, less its wall-clock ones."""
    log = json.loads((out / "run_card.json").read_text())["log"]
    return [{k: v for k, v in entry.items() if "runtime" not in k and "per_second" not in k} for entry in log]


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_model_whatever_ran_before(tiny_model, data, tmp_path):
    sft, _ = data
    runs = {}
    for name, seed, noise in (("a", 0, 1), ("b", 0, 2), ("c", 1, 1)):
        torch.manual_seed(noise)  # what the process did before (other runs, sampling) must not matter
        torch.rand(noise * 7)
        out = tmp_path / name
        runs[name] = (_weights(train_sft(TrainArgs(base=str(tiny_model), data=str(sft), out=str(out), lora=True,
                                                   learning_rate=1e-2, max_steps=3, batch_size=2, max_length=128,
                                                   logging_steps=1, seed=seed))), _figures(out))
    assert _same(runs["a"][0], runs["b"][0]) and runs["a"][1] == runs["b"][1]
    assert not _same(runs["a"][0], runs["c"][0])
    card = json.loads((tmp_path / "a" / "run_card.json").read_text())
    assert card["reproducibility"]["torch_threads"] == 1 and card["reproducibility"]["deterministic_algorithms"]
    assert not torch.are_deterministic_algorithms_enabled()  # restored after the run


def test_classifier_head_is_seeded_by_the_seed(indexed_snapshot, tiny_model, tmp_path):
    finals = []
    for name, noise in (("a", 1), ("b", 2)):
        torch.manual_seed(noise)
        finals.append(train_classifier(ClassifierArgs(data=str(indexed_snapshot.path), out=str(tmp_path / name),
                                                      base=str(tiny_model), max_steps=1, max_train=64,
                                                      batch_size=4, max_length=32)))
    assert _same(*(load_file(str(f / "model.safetensors")) for f in finals))


def test_run_card_keeps_every_logged_step_and_plots(tiny_model, data, tmp_path):
    sft, pairs = data
    final = train_sft(TrainArgs(base=str(tiny_model), data=str(sft), out=str(tmp_path / "sft"), lora=False,
                                learning_rate=1e-3, max_steps=23, batch_size=2, max_length=128, logging_steps=1))
    log = json.loads((tmp_path / "sft" / "run_card.json").read_text())["log"]
    assert [e["step"] for e in log if "loss" in e] == list(range(1, 24))  # more than the old last 20
    assert (tmp_path / "sft" / "training.png").stat().st_size > 1000
    train_dpo(TrainArgs(base=str(final), data=str(pairs), out=str(tmp_path / "dpo"), lora=False, learning_rate=1e-3,
                        max_steps=2, batch_size=2, max_length=128, logging_steps=1))
    log = json.loads((tmp_path / "dpo" / "run_card.json").read_text())["log"]
    assert len([e for e in log if "loss" in e]) == 2
    assert all(key in log[0] for key in ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"))
    from training._plots import plot_training

    path = plot_training({"SFT": tmp_path / "sft", "DPO": tmp_path / "dpo" / "final"}, tmp_path / "both.png",
                         "tiny model, test snapshot, 3 pairs, seed 0")
    assert path.stat().st_size > 1000 and not list(tmp_path.glob(".*tmp"))
