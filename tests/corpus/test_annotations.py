"""Auditor annotations: the kinds at their stated rates, loose boundaries as the paper describes."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from qx_env.corpus.synth import load_vocabulary
from qx_env.corpus.synth._annotations import EMPTY_SHARE, KIND_WEIGHTS, LOOSE_LONG_SHARE, annotate
from qx_env.corpus.synth._generator import Listing

#: Both risk phrases stand inside a clause, with room to grow on either side.
LISTINGS = {
    "zh": Listing("出售高仿学历证书一套，本店全国可办各类，加微dd2211快速出货，同城面交", 1, "books", "c0", "s1", 0,
                  violation="fake_diploma", risk_phrases=["高仿学历证书", "全国可办"], contact="加微dd2211",
                  contexts=["快速出货"]),
    "en": Listing("selling fake college diploma papers, nearly any school available here, text me for fast delivery", 1,
                  "books", "c0", "s1", 0, violation="fake_diploma",
                  risk_phrases=["fake college diploma", "any school available"], contexts=["fast delivery"]),
}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_kinds_come_at_their_stated_rates_and_loose_marks_miss_the_boundary(language):
    vocab, listing, rng = load_vocabulary(language), LISTINGS[language], random.Random(0)
    notes = [annotate(listing, vocab, rng) for _ in range(4000)]
    assert abs(sum(not n.phrases for n in notes) / len(notes) - EMPTY_SHARE) < 0.02
    kinds = Counter(k for n in notes for k in n.kinds)
    total = sum(kinds.values())
    for kind, weight in KIND_WEIGHTS.items():
        # duplicates within one report are dropped, so shares are a little off the weights
        assert abs(kinds[kind] / total - weight) < 0.05, (kind, kinds[kind] / total)
    loose = [p for n in notes for p, k in zip(n.phrases, n.kinds) if k == "loose"]
    longer = [p for p in loose if any(r in p and r != p for r in listing.risk_phrases)]
    shorter = [p for p in loose if any(p in r and r != p for r in listing.risk_phrases)]
    assert len(longer) + len(shorter) == len(loose)  # each overlaps a risk phrase and is not one
    assert abs(len(longer) / len(loose) - LOOSE_LONG_SHARE) < 0.1
    for phrase in loose:
        assert phrase in listing.text and "，" not in phrase and "," not in phrase
        assert len(phrase) >= 2
