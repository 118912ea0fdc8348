"""The Bi-LSTM-CRF baseline: its CRF (pytorch-crf's) against brute force over every tag sequence, a
toy mapping learnt, the same seed training the same bytes, and a round trip without pickle."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import torch
from torchcrf import CRF

from policies import SeqLabelPolicy, make_policy
from policies._seqlabel import bio_tags, crf_nll

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
    crf = CRF(3, batch_first=True)
    emissions = torch.tensor([[[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0], [9.0, 0, 0]]])
    mask = torch.tensor([[True, True, True, False]])
    assert crf.decode(emissions, mask) == [[0, 1, 2]]
    assert crf_nll(crf, emissions, torch.tensor([[0, 1, 2, 0]]), mask) < crf_nll(crf, emissions,
                                                                           torch.tensor([[2, 0, 1, 0]]), mask)


def _random_crf(tags: int, seed: int) -> CRF:
    generator = torch.Generator().manual_seed(seed)
    crf = CRF(tags, batch_first=True).double()
    with torch.no_grad():
        for parameter in (crf.transitions, crf.start_transitions, crf.end_transitions):
            parameter.copy_(2 * torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    return crf.requires_grad_(False)  # scores only: no autograd graph behind the brute-force floats


def _sequence_score(crf: CRF, emissions: torch.Tensor, path: tuple[int, ...]) -> float:
    """start + emissions + transitions + end of one tag sequence (one unpadded row)."""
    score = (crf.start_transitions[path[0]] + crf.end_transitions[path[-1]]
             + sum(emissions[t, tag] for t, tag in enumerate(path)))
    return float(score + sum(crf.transitions[a, b] for a, b in itertools.pairwise(path)))


def _brute_force(crf: CRF, emissions: torch.Tensor, length: int) -> tuple[list[int], float, dict]:
    """The best path, the log partition and every path's score, by enumerating all sequences."""
    scores = {path: _sequence_score(crf, emissions[:length], path)
              for path in itertools.product(range(emissions.shape[1]), repeat=length)}
    best = max(scores, key=scores.get)
    return list(best), float(torch.logsumexp(torch.tensor(list(scores.values()), dtype=torch.float64), dim=0)), scores


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crf_matches_brute_force_with_random_scores_and_padding(seed):
    tags, lengths = 3, [5, 1, 3, 4, 2]
    crf = _random_crf(tags, seed)
    generator = torch.Generator().manual_seed(100 + seed)
    longest = max(lengths)
    emissions = 3 * torch.randn(len(lengths), longest, tags, generator=generator, dtype=torch.float64)
    mask = torch.tensor([[t < n for t in range(longest)] for n in lengths])
    gold = torch.randint(tags, (len(lengths), longest), generator=generator)  # padded positions random too
    truth = [_brute_force(crf, emissions[row], n) for row, n in enumerate(lengths)]
    with torch.no_grad():
        assert crf.decode(emissions, mask) == [best for best, _, _ in truth]
        expected = [log_z - scores[tuple(gold[row, :n].tolist())] for row, ((_, log_z, scores), n)
                    in enumerate(zip(truth, lengths))]
        assert float(crf_nll(crf, emissions, gold, mask)) == pytest.approx(sum(expected) / len(expected), abs=1e-9)
        for row, n in enumerate(lengths):  # each row alone: its own negative log-likelihood
            one = slice(row, row + 1)
            assert float(crf_nll(crf, emissions[one], gold[one], mask[one])) == pytest.approx(expected[row], abs=1e-9)
        # what lies beyond the mask changes nothing
        noisy = emissions.clone()
        noisy[~mask] = 50 * torch.randn(int((~mask).sum()), tags, generator=generator, dtype=torch.float64)
        assert crf.decode(noisy, mask) == crf.decode(emissions, mask)
        assert float(crf_nll(crf, noisy, gold, mask)) == pytest.approx(float(crf_nll(crf, emissions, gold, mask)), abs=1e-9)
        # the likelihoods of all sequences of a row sum to one
        scores = truth[2][2]
        paths = torch.tensor(list(scores), dtype=torch.long)
        row_emissions = emissions[2:3, :3].expand(len(paths), -1, -1)
        each = [float(crf_nll(crf, row_emissions[i:i + 1], paths[i:i + 1], torch.ones(1, 3, dtype=torch.bool)))
                for i in range(len(paths))]
        assert sum(np.exp(-v) for v in each) == pytest.approx(1.0, abs=1e-9)


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
    with pytest.raises(Exception, match="is fitted on a snapshot: pass one.*or give path=DIR of a trained model"):
        make_policy("seqlabel")


def _fitted(seed: int, directory):
    policy = SeqLabelPolicy.__new__(SeqLabelPolicy)
    policy.snapshot, policy.language, policy.max_tokens, policy.top = None, "zh", 256, 5
    texts, labels = _toy(60, seed=0)
    policy.fit(texts, labels, epochs=2, embedding=8, hidden=8, batch_size=16, lr=0.02, seed=seed)
    policy.save(directory)
    return policy, (directory / "seqlabel.safetensors").read_bytes()


def test_the_same_seed_trains_the_same_bytes(tmp_path):
    _, first = _fitted(0, tmp_path / "a")
    _, again = _fitted(0, tmp_path / "b")
    _, other = _fitted(1, tmp_path / "c")
    assert first == again and first != other


def test_a_model_saved_by_the_hand_written_crf_still_loads(tmp_path):
    from safetensors.torch import load_file, save_file

    policy, _ = _fitted(0, tmp_path / "model")
    weights = tmp_path / "model" / "seqlabel.safetensors"
    old_names = {"crf.start_transitions": "crf.start", "crf.end_transitions": "crf.end"}
    save_file({old_names.get(name, name): value for name, value in load_file(str(weights)).items()}, str(weights))
    assert "crf.start" in load_file(str(weights))
    texts, _ = _toy(20, seed=3)
    assert make_policy(f"seqlabel:path={tmp_path / 'model'}").extract(texts) == policy.extract(texts)


def test_the_model_does_not_depend_on_torch_threads(tmp_path):
    """The LSTM's sums split across threads (1 and 2 threads trained different weights before training
    was pinned to one thread), so the same seed gives the same bytes whatever torch's thread count."""
    texts, labels = _toy(200, seed=0)
    weights, queries = [], []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            policy = SeqLabelPolicy.trained_on(texts, labels, "zh", epochs=2, seed=0)
            policy.save(tmp_path / f"threads-{threads}")
            weights.append((tmp_path / f"threads-{threads}" / "seqlabel.safetensors").read_bytes())
            queries.append(policy.extract(texts[:50]))
            assert torch.get_num_threads() == threads  # the caller's setting is given back
    finally:
        torch.set_num_threads(before)
    assert weights[0] == weights[1] and queries[0] == queries[1]
