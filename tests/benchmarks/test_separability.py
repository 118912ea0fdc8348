"""benchmarks.separability: held-out-cluster AUC of the n-gram classifier."""

from __future__ import annotations

import numpy as np

from benchmarks.separability import heldout_ngram_auc, heldout_split


def test_heldout_split_keeps_clusters_whole_and_halves_both_classes():
    labels = np.array([1] * 30 + [0] * 70)
    clusters = [f"c{i // 10}" for i in range(30)] + [None] * 70
    test = heldout_split(labels, clusters, seed=0)
    for c in ("c0", "c1", "c2"):
        assert len({bool(test[i]) for i in range(30) if clusters[i] == c}) == 1
    assert 0 < test[:30].sum() < 30 and test[30:].sum() == 35


def test_heldout_ngram_auc_on_a_small_snapshot(synth_snapshot):
    auc = heldout_ngram_auc(synth_snapshot, seed=0)
    assert 0.5 < auc <= 1.0
    assert auc == heldout_ngram_auc(synth_snapshot, seed=0)
