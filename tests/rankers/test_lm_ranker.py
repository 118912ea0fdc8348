"""The lm ranker on the tiny local model: a fine-tuned classifier that learns, a prompted judge
that gives probabilities, caches equal to fresh scores, and clear errors for wrong models."""

from __future__ import annotations

import numpy as np
import pytest

from qx_env import QxError
from qx_env.cli import main
from qx_env.rankers import evaluate_ranker, labeled_sets, make_ranker
from qx_env.search import SearchSystem
from training import ClassifierArgs, train_classifier

FILLER = "今天天气很好我们一起去公园散步看花喝茶聊天读书写字买菜做饭"


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory):
    """A separable toy set: toxic rows carry 赌博网站, normal rows never do."""
    rng = np.random.default_rng(0)
    rows = ["text,label"]
    for i in range(400):
        words = "".join(rng.choice(list(FILLER), size=8))
        rows.append(f"{words[:4]}赌博网站{words[4:]},1" if i % 2 else f"{words},0")
    path = tmp_path_factory.mktemp("toy") / "toy.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def small_snapshot(snapshot_factory, tmp_path_factory):
    """48 items (every fourth toxic), saved, so the judge scores each one quickly."""
    rng = np.random.default_rng(1)
    texts = ["".join(rng.choice(list(FILLER), size=10)) + ("赌博网站" if i % 4 == 0 else "") for i in range(48)]
    return snapshot_factory(texts, [int(i % 4 == 0) for i in range(48)], path=tmp_path_factory.mktemp("small") / "s")


@pytest.fixture(scope="module")
def toy_classifier(toy_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("classifier")
    return train_classifier(ClassifierArgs(data=str(toy_file), out=str(out), max_steps=60, batch_size=16,
                                           max_length=32, holdout=0.25, tiny_vocab_size=300))


def test_fine_tuned_classifier_beats_chance_on_a_separable_toy_set(toy_file, toy_classifier):
    train, test = labeled_sets(str(toy_file), holdout=0.25)
    row = evaluate_ranker(f"lm:path={toy_classifier},max_length=32", train, test)
    assert row["auc"] > 0.8 and row["accuracy"] > 0.7
    assert (toy_classifier.parent / "run_card.json").is_file()


def test_prompted_judge_gives_probabilities(small_snapshot, tiny_model):
    scores = make_ranker(f"lm:path={tiny_model},kind=judge,max_length=32", small_snapshot, cache=False).scores()
    assert scores.shape == (len(small_snapshot),)
    assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()
    assert scores.std() > 0  # it reads the text: not one constant


def test_cached_scores_equal_fresh_ones_and_rank_the_search(small_snapshot, tiny_model):
    spec = f"lm:path={tiny_model},kind=judge,max_length=32"
    first = make_ranker(spec, small_snapshot).scores()
    cached = make_ranker(spec, small_snapshot).scores()
    fresh = make_ranker(spec, small_snapshot, cache=False).scores()
    np.testing.assert_array_equal(first, cached)
    np.testing.assert_allclose(cached, fresh, atol=1e-5)
    system = SearchSystem(small_snapshot, modes="keyword", match="bm25", k=10, candidates=40, ranker=spec)
    hits = system.search("天气 赌博")
    assert len(hits) and list(hits.scores) == sorted(hits.scores, reverse=True)
    np.testing.assert_allclose(hits.scores, cached[hits.positions])


def test_wrong_models_give_clear_errors(small_snapshot, tiny_model, toy_file, tmp_path):
    with pytest.raises(QxError, match="not a sequence classifier"):
        make_ranker(f"lm:path={tiny_model}", small_snapshot, cache=False)
    with pytest.raises(QxError, match="existing local model directory"):
        make_ranker(f"lm:path={tmp_path / 'missing'}", small_snapshot)
    with pytest.raises(QxError, match="kind must be one of classifier, judge"):
        make_ranker(f"lm:path={tiny_model},kind=oracle", small_snapshot, cache=False)
    with pytest.raises(QxError, match="not a Hugging Face model directory"):
        train_classifier(ClassifierArgs(data=str(toy_file), out=str(tmp_path / "out"), base=str(tmp_path)))


def test_cli_trains_a_classifier(toy_file, tmp_path, capsys):
    out = tmp_path / "clf"
    assert main(["ranker", "train", str(toy_file), "--out", str(out), "--max-steps", "3", "--max-length", "16",
                 "--tiny-vocab-size", "300"]) == 0
    assert f"lm:path={out / 'final'}" in capsys.readouterr().out
    assert (out / "final" / "config.json").is_file()
