"""The Bi-LSTM-CRF baseline learns a toy mapping and round-trips without pickle."""

from __future__ import annotations

import random

import pytest
import torch

from policies import SeqLabelPolicy, make_policy
from policies._seqlabel import CRF, bio_tags

PHRASES = ["红腹水虎", "毕业证复刻", "私人伴游", "代开发票"]
FILLER = "的一是了在有人这上大来到时和地为子中你说生国年着就那要下以会可也后能"


def _toy(n, seed):
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        phrase = rng.choice(PHRASES)
        left = "".join(rng.choice(FILLER) for _ in range(rng.randint(2, 8)))
        right = "".join(rng.choice(FILLER) for _ in range(rng.randint(2, 8)))
        texts.append(left + phrase + right)
        labels.append([phrase])
    return texts, labels


def test_bio_tags():
    assert bio_tags("出售红腹水虎小苗", ["红腹水虎"], "zh") == [0, 0, 1, 2, 2, 2, 0, 0]
    assert bio_tags("red bellied piranha fry", ["bellied piranha"], "en") == [0, 1, 2, 0]
    assert bio_tags("abc", ["zzz"], "en") == [0]


def test_crf_decodes_the_best_path():
    crf = CRF(3)
    emissions = torch.tensor([[[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [9.0, 0, 0]]])
    mask = torch.tensor([[True, True, True, False]])
    assert crf.decode(emissions, mask) == [[0, 1, 2]]
    assert crf.nll(emissions, torch.tensor([[0, 1, 2, 0]]), mask) < crf.nll(emissions, torch.tensor([[2, 0, 1, 0]]),
                                                                            mask)


def test_learns_a_toy_mapping_and_round_trips(tmp_path):
    policy = SeqLabelPolicy.__new__(SeqLabelPolicy)
    policy.snapshot, policy.language, policy.max_tokens, policy.top = None, "zh", 256, 5
    texts, labels = _toy(300, seed=0)
    policy.fit(texts, labels, epochs=15, embedding=32, hidden=32, batch_size=32, lr=0.02, seed=0)
    test_texts, test_labels = _toy(40, seed=1)
    predicted = policy.extract(test_texts)
    accuracy = sum(p == gold for p, gold in zip(predicted, test_labels)) / len(test_labels)
    assert accuracy >= 0.9
    policy.save(tmp_path / "model")
    assert not list((tmp_path / "model").glob("*.pt")) and not list((tmp_path / "model").glob("*.pkl"))
    loaded = make_policy(f"seqlabel:path={tmp_path / 'model'}")
    assert loaded.extract(test_texts) == predicted


def test_trains_on_a_snapshot(indexed_snapshot, tmp_path):
    policy = make_policy(f"seqlabel:epochs=2,path={tmp_path / 'm'}", indexed_snapshot)
    out = policy.extract(indexed_snapshot.report_texts()[:5] + [""])
    assert len(out) == 6 and out[-1] == []
    assert (tmp_path / "m" / "seqlabel.safetensors").is_file()
    with pytest.raises(Exception, match="needs a snapshot"):
        make_policy("seqlabel")
