"""Everyday words of the synthetic marketplace (vocab/everyday.json): each entry names where its rate
was measured, and the generator reproduces the measured document rates."""

from __future__ import annotations

import math

import pytest

from qx_env.corpus import SynthConfig, synthesize
from qx_env.corpus.synth import everyday_words, load_vocabulary, words_of
from qx_env.corpus.synth._everyday import insert_probability
from qx_env.corpus.synth._everyday_rates import FILES, GROUPS, document_counts


def _tolerance(rate: float, n: int) -> float:
    """The stated tolerance: four binomial standard deviations plus half a point."""
    return 4 * math.sqrt(rate * (1 - rate) / n) + 0.005


def _template_words() -> tuple[set[str], set[str]]:
    """Words the templates write (the vocabulary's sentences, price and contact formats), and those of
    the contact formats alone (微信, 电话, 了解...: their rate follows which contact kind the biggest
    shops drew, not the everyday sampler)."""
    vocab = load_vocabulary("zh")
    formats = [f.replace("{handle}", " ") for fs in vocab.contact_formats.values() for f in fs]
    prices = [f.replace("{price}", " ") for f in vocab.price_formats]
    contacts = {w for text in formats for w in words_of(text)}
    return contacts | {w for text in [*vocab.all_texts(), *prices] for w in words_of(text)}, contacts


@pytest.fixture(scope="module")
def rates():
    snapshot = synthesize(SynthConfig(items=6000, toxic_share=0.05, seed=11), progress=False)
    texts = {0: [], 1: []}
    for text, label in zip(snapshot.texts, snapshot.labels):
        texts[int(label)].append(text)
    return {"benign": document_counts(texts[0]), "toxic": document_counts(texts[1])}


def test_every_word_names_its_sources_and_measured_rates():
    entries = everyday_words("zh")
    assert len(entries) >= 300 and everyday_words("en") == ()
    assert {e["group"] for e in entries} == {*GROUPS, "common"}
    assert len({e["word"] for e in entries}) == len(entries)
    for entry in entries:
        assert all(f in entry["source"] for f in ("online_shopping_10_cats", "cold/", "fbs_sms/AD__")), entry
        assert set(entry["by_source"]) == set(FILES.values())
        for role in ("benign", "toxic"):
            measured = entry[role]
            assert measured["rate"] == round(measured["count"] / measured["texts"], 5)
            assert 0 <= entry["synth_base"][role] <= 1 and 0 <= entry["synth_before"][role] <= 1
    words = {e["word"] for e in entries}
    assert {"微信", "转账", "好吃", "快递", "你好", "没有", "但是"} <= words  # the groups and common words
    assert not {"房间", "黑人", "退订"} & words  # topics of one corpus each


def test_the_stored_rates_are_those_of_the_named_file(data_dir):
    """Re-measured on fbs_sms AD__* + Other (8,428 SMS), the stored per-source rates come back."""
    texts = [line.strip() for f in sorted((data_dir / "fbs_sms").glob("*.txt"))
             if f.stem.startswith("AD__") or f.stem == "Other"
             for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    n, counts = document_counts(texts, fbs=True)
    for entry in everyday_words("zh"):
        assert entry["by_source"]["fbs_sms/AD__*.txt + fbs_sms/Other.txt"] == round(counts[entry["word"]] / n, 5)


@pytest.mark.parametrize("role", ["benign", "toxic"])
def test_generator_reproduces_the_measured_rates(rates, role):
    """Words no template writes come at the measured rate (within :func:`_tolerance`); every word at
    least at it (a template may write it more often: 价格 in 10% of listings, real 3.9%). Benign
    listings also reproduce it for the template words the sampler tops up (the templates' own rate
    below the real one): their template rate is stable across seeds, a toxic campaign's is not (its
    few stock sentences repeat in every listing of it)."""
    n, counts = rates[role]
    template, contacts = _template_words()
    off, controlled = [], 0
    for entry in everyday_words("zh"):
        word, real, base = entry["word"], entry[role]["rate"], entry["synth_base"][role]
        observed = counts[word] / n
        if word not in template or (role == "benign" and base < real and word not in contacts):
            controlled += 1
            if abs(observed - real) > _tolerance(real, n):
                off.append((word, real, base, observed))
        elif observed < real - _tolerance(real, n):
            off.append((word, real, base, observed))
    assert controlled >= 100 and off == []


def test_rates_follow_the_scale_and_scale_zero_adds_none():
    """``everyday_scale=0``: listings as the templates write them (好吃 and 但是 never, though real
    benign texts carry them in 1.7% and 4.6%); 1: both appear, 0.5 about half as often."""
    def share(scale: float, word: str) -> float:
        texts = synthesize(SynthConfig(items=1500, seed=4, everyday_scale=scale), progress=False).texts
        return sum(word in words_of(t) for t in texts) / len(texts)

    assert share(0.0, "好吃") == 0 and share(0.0, "但是") == 0
    assert share(1.0, "好吃") > 0 and share(1.0, "但是") > share(0.5, "但是") > 0


def test_insert_probability_adds_what_the_templates_miss():
    assert insert_probability(0.1, 0.0) == pytest.approx(0.1)
    assert insert_probability(0.3, 0.1) == pytest.approx(0.2 / 0.9)
    assert insert_probability(0.1, 0.2) == 0.0 and insert_probability(0.1, 1.0) == 0.0
    # independent draws reproduce the rate: base + (1 - base) * p
    base = 0.1
    assert base + (1 - base) * insert_probability(0.3, base) == pytest.approx(0.3)


def test_words_are_jieba_words_of_two_or_more_han_characters():
    assert words_of("物流很快，味道不错，加我微信 abc123") >= {"物流", "味道", "不错", "微信"}
    assert all(len(w) >= 2 for w in words_of("的了是我你他"))
    assert words_of("加 微信 领 红包", fbs=True) == words_of("加微信领红包")  # fbs_sms spaces removed first
