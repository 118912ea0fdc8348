"""benchmarks.separability: held-out-cluster AUC of the n-gram classifier."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_leak_auc_reads_a_giveaway_word_and_is_chance_without_one():
    from benchmarks.separability import leak_auc

    rng = np.random.default_rng(1)
    common = ["没有", "可以", "快递", "味道", "谢谢", "客服", "微信", "价格"]

    def doc(extra=()):
        return [str(w) for w in rng.choice(common, size=5)] + list(extra)

    families = np.arange(120) // 4  # 30 families of 4, each held out whole
    toxic = [doc(["代开发票"]) for _ in range(120)]
    background = [doc() for _ in range(400)]
    assert leak_auc(toxic, background, families, folds=5) == 1.0
    plain = [doc() for _ in range(120)]
    assert 0.35 < leak_auc(plain, background, families, folds=5) < 0.65
    # restricted to a vocabulary without the giveaway word, the marked texts look like the rest
    assert 0.35 < leak_auc(toxic, background, families, folds=5, vocabulary=common) < 0.65


def test_exact_word_precision_is_one_for_a_word_the_background_lacks():
    from benchmarks.separability import exact_word_precision

    toxic = [["刷单", "兼职", "可以"]] * 10
    background = [["可以", "快递"]] * 90 + [["快递"]] * 10
    top, anyword = exact_word_precision(toxic, background, share=0.01)
    assert top == 1.0  # 刷单 (or 兼职) never occurs in the background
    # 可以: toxic rate 1, background 0.9 -> 0.01 / (0.01 + 0.99 * 0.9); the mean of three words
    assert anyword == pytest.approx((1 + 1 + 0.01 / (0.01 + 0.99 * 0.9)) / 3)


def test_families_join_near_duplicates_and_unknown_sources_are_named(tmp_path):
    from benchmarks.separability import families, leak_texts

    texts = ["您的积分即将过期请登录网站兑换现金", "您的积分即将过期请登录网址兑换现金礼品", "今天天气很好我们去公园散步吧"]
    groups = families(texts)
    assert groups[0] == groups[1] != groups[2]
    with pytest.raises(ValueError, match="unknown leak source 'spam'.*fbs-fraud.*synth-before"):
        leak_texts("spam", tmp_path, 10, 0)


def test_synthetic_backgrounds_before_and_after_everyday_words(tmp_path):
    from benchmarks.separability import leak_texts

    before = leak_texts("synth-before", tmp_path, 300, 0)
    after = leak_texts("synth-after", tmp_path, 300, 0)
    assert len(before) == len(after) == 300
    everyday = ("没有", "但是", "好吃", "觉得")
    assert sum(any(w in t for w in everyday) for t in before) < sum(any(w in t for w in everyday) for t in after)


def test_qx_bench_separability_leak_prints_the_table_with_n_per_class(data_dir, capsys):
    from qx_env.cli import main

    assert main(["bench", "separability", "--leak", "--data-dir", str(data_dir), "--leak-toxic", "harm",
                 "--leak-backgrounds", "synth-before,synth-after,real-sms", "--leak-toxic-items", "80",
                 "--leak-background-items", "300", "--folds", "3"]) == 0
    out = capsys.readouterr().out
    assert "| toxic | background | n toxic (families) | n background | held-out AUC |" in out
    for background in ("synth-before", "synth-after", "real-sms"):
        row = next(line for line in out.splitlines() if line.startswith(f"| harm | {background} |"))
        assert "| 300 |" in row and row.split("|")[3].strip().startswith("80 (")
    assert main(["bench", "separability", "--leak", "--leak-backgrounds", "synth-never"]) == 2


def test_a_missing_data_dir_is_named(tmp_path, capsys):
    from qx_env.cli import main

    assert main(["bench", "separability", "--leak", "--data-dir", str(tmp_path / "nope")]) == 2
    assert "--data-dir" in capsys.readouterr().err
