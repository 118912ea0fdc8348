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


def test_heldout_auc_is_one_when_a_word_gives_the_label_away_and_chance_when_nothing_does(snapshot_factory):
    rng = np.random.default_rng(0)
    filler = "的一是了在有人这上大来到时和地为子中你说生国年着就那要下以会可也后能"

    def text(marker: str = "") -> str:
        words = "".join(rng.choice(list(filler), size=12))
        return words[:6] + marker + words[6:]

    labels = [1] * 40 + [0] * 160
    clusters = [f"c{i // 5}" for i in range(40)] + [None] * 160
    marked = snapshot_factory([text("代开发票") for _ in range(40)] + [text() for _ in range(160)], labels, clusters)
    assert heldout_ngram_auc(marked, seed=0) == 1.0  # the held-out clusters share the giveaway word
    plain = snapshot_factory([text() for _ in range(200)], labels, clusters)
    assert 0.3 < heldout_ngram_auc(plain, seed=0) < 0.7  # labels independent of the text: about chance
