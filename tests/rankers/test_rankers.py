"""Rankers without a language model: specs, training data that never includes evaluation clusters,
score caches, the oracle's AUC, and evaluation on labeled texts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from qx_env import QxError
from qx_env.cli import main
from qx_env.rankers import (
    LabeledTexts,
    OracleRanker,
    PrecomputedRanker,
    RiskRanker,
    ScoreCache,
    evaluate_ranker,
    evaluation_clusters,
    heldout_mask,
    labeled_sets,
    make_ranker,
    write_scores,
)
from qx_env.search import SearchSystem


def test_risk_ranker_never_trains_on_evaluation_clusters(indexed_snapshot):
    ranker = RiskRanker(indexed_snapshot, cache=False)
    mask = ranker.training_mask()
    clusters = np.array(indexed_snapshot.items.column("cluster_id").to_pylist(), dtype=object)
    excluded = evaluation_clusters(indexed_snapshot)
    assert excluded
    assert not any(c in excluded for c in clusters[mask])
    evaluation_items = indexed_snapshot.reports_in(["dev", "test"]).column("item_id").to_pylist()
    assert not mask[[indexed_snapshot.position_of[i] for i in evaluation_items]].any()
    assert mask.sum() > 0.8 * len(mask)


def test_risk_scores_cached_equal_fresh(indexed_snapshot):
    cached = RiskRanker(indexed_snapshot).scores()
    again = RiskRanker(indexed_snapshot).scores()
    fresh = RiskRanker(indexed_snapshot, cache=False).scores()
    np.testing.assert_array_equal(cached, again)
    np.testing.assert_allclose(cached, fresh, rtol=1e-5)


def test_oracle_has_the_auc_asked_for(indexed_snapshot):
    for auc in (0.6, 0.8, 0.95):
        scores = OracleRanker(indexed_snapshot, auc=auc, seed=1).scores()
        assert roc_auc_score(indexed_snapshot.labels, scores) == pytest.approx(auc, abs=0.06)


def test_specs_give_options_and_name_bad_ones(indexed_snapshot):
    assert make_ranker("oracle:auc=0.9,seed=3", indexed_snapshot).auc == 0.9
    with pytest.raises(QxError, match="bad option 'top=3'; it takes auc, seed"):
        make_ranker("oracle:top=3", indexed_snapshot)
    with pytest.raises(QxError, match="should be like 0.8"):
        make_ranker("oracle:auc=high", indexed_snapshot)
    with pytest.raises(QxError, match="unknown ranker 'magic'; choose from .*lm"):
        make_ranker("magic", indexed_snapshot)


def test_heldout_has_every_evaluation_item_and_some_normal_ones(indexed_snapshot):
    held = heldout_mask(indexed_snapshot, holdout=0.1, seed=0)
    evaluation_items = indexed_snapshot.reports_in(["dev", "test"]).column("item_id").to_pylist()
    assert held[[indexed_snapshot.position_of[i] for i in evaluation_items]].all()
    train, test = labeled_sets(indexed_snapshot)
    assert len(train) + len(test) == len(indexed_snapshot)
    assert set(test.labels.tolist()) == {0, 1}
    np.testing.assert_array_equal(heldout_mask(indexed_snapshot, 0.1, 0), held)


def test_labeled_texts_reject_bad_labels_and_one_class():
    with pytest.raises(QxError, match="labels must be 0 or 1, found \\[2\\]"):
        LabeledTexts("toy", ["a", "b"], np.array([0, 2]))
    with pytest.raises(QxError, match="2 texts but 1 labels"):
        LabeledTexts("toy", ["a", "b"], np.array([0]))
    with pytest.raises(QxError, match="found only label 0"):
        LabeledTexts("toy", ["a", "b"], np.array([0, 0])).require_both_classes()


def test_labeled_file_without_a_label_column_is_named(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("text,tag\nhello,1\n")
    with pytest.raises(QxError, match="no column 'label'"):
        labeled_sets(str(path))
    with pytest.raises(QxError, match="neither a snapshot directory"):
        labeled_sets(str(tmp_path / "nowhere"))


def test_evaluation_of_rankers_on_labeled_texts(indexed_snapshot):
    train, test = labeled_sets(indexed_snapshot)
    risk = evaluate_ranker("risk", train, test)
    assert set(risk) >= {"accuracy", "precision", "recall", "f1", "auc", "samples_per_s", "n"}
    assert risk["auc"] > 0.6 and risk["samples_per_s"] > 0
    retrieval = evaluate_ranker("retrieval", train, test)
    assert retrieval["auc"] == 0.5 and retrieval["recall"] == 0 and retrieval["samples_per_s"] is None
    with pytest.raises(QxError, match="another snapshot|one snapshot"):
        evaluate_ranker("scores:path=x", train, test)


def test_precomputed_scores_load_and_refuse_another_snapshot(indexed_snapshot, snapshot_factory, tmp_path):
    scores = np.linspace(0, 1, len(indexed_snapshot), dtype=np.float32)
    write_scores(tmp_path / "scores", indexed_snapshot, scores, {"ranker": "test"})
    system = SearchSystem(indexed_snapshot, ranker=f"scores:path={tmp_path / 'scores'}", build=False)
    np.testing.assert_array_equal(system.ranker.scores(), scores)
    other = snapshot_factory(["甲", "乙"], [0, 1], path=tmp_path / "other")
    with pytest.raises(QxError, match="computed for another snapshot"):
        PrecomputedRanker(other, path=str(tmp_path / "scores"))
    meta = json.loads((tmp_path / "scores" / "scores.json").read_text())
    meta["scores_sha256"] = "0" * 64
    (tmp_path / "scores" / "scores.json").write_text(json.dumps(meta))
    with pytest.raises(QxError, match="damaged"):
        PrecomputedRanker(indexed_snapshot, path=str(tmp_path / "scores"))


def test_automatic_cache_of_another_snapshot_is_ignored_with_a_warning(snapshot_factory, tmp_path):
    first = snapshot_factory(["甲乙", "丙丁", "戊己"], [0, 1, 0], path=tmp_path / "snap")
    cache = ScoreCache(first, "toy", {"v": 1})
    cache.store(np.array([0.1, 0.9, 0.2], dtype=np.float32))
    np.testing.assert_allclose(cache.load(), [0.1, 0.9, 0.2])
    rebuilt = snapshot_factory(["甲乙", "丙丁", "庚辛"], [0, 1, 0], path=tmp_path / "rebuilt")
    shutil.copytree(tmp_path / "snap" / "indexes", tmp_path / "rebuilt" / "indexes")  # a cache carried over
    with pytest.warns(UserWarning, match="stale score cache"):
        assert ScoreCache(rebuilt, "toy", {"v": 1}).load() is None


def test_cli_eval_and_score(indexed_snapshot, tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert main(["ranker", "eval", str(indexed_snapshot.path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| risk |" in printed and "| oracle:auc=0.8 |" in printed
    assert [row["ranker"] for row in json.loads(out.read_text())] == ["retrieval", "risk", "oracle:auc=0.8"]
    assert main(["ranker", "score", str(indexed_snapshot.path), "--ranker", "oracle:auc=0.9",
                 "--out", str(tmp_path / "scores")]) == 0
    loaded = PrecomputedRanker(indexed_snapshot, path=str(tmp_path / "scores")).scores()
    np.testing.assert_array_equal(loaded, OracleRanker(indexed_snapshot, auc=0.9).scores())


def test_cold_has_its_own_train_and_test_splits(data_dir):
    from qx_env.rankers import cold_sets

    train, test = cold_sets(data_dir)
    assert len(train) > 20_000 and len(test) > 5_000
    assert set(train.labels.tolist()) == set(test.labels.tolist()) == {0, 1}
    assert not set(train.texts) & set(test.texts)  # COLD repeats 39 test texts in train: dropped


def test_cli_eval_needs_one_source(indexed_snapshot, capsys):
    assert main(["ranker", "eval"]) == 2
    assert main(["ranker", "eval", str(indexed_snapshot.path), "--corpus-preset", "cold"]) == 2
    assert "not both or neither" in capsys.readouterr().err
