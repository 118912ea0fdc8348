"""Camouflage operators change the phrase in the way they claim."""

from __future__ import annotations

import random

import pytest
from pypinyin import lazy_pinyin

from qx_env.corpus.synth import OPERATORS, camouflage, load_vocabulary
from qx_env.corpus.synth._camouflage import homophone, pinyin, traditional


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_variant_differs_from_its_core(language):
    rng = random.Random(0)
    for violation in load_vocabulary(language).violations:
        for core in violation.core_phrases:
            for n in (1, 2, 3):
                variant, used = camouflage(core, language, rng, n_operators=n)
                assert variant != core
                assert used and set(used) <= set(OPERATORS[language])


def test_homophone_keeps_the_sound_and_changes_a_character():
    rng = random.Random(1)
    for _ in range(20):
        variant = homophone("红腹水虎", rng)
        assert variant != "红腹水虎"
        assert lazy_pinyin(variant) == lazy_pinyin("红腹水虎")


def test_pinyin_and_traditional():
    assert pinyin("水虎", random.Random(0)) in {"shui虎", "水hu"}
    assert traditional("发票代开", random.Random(0)) == "發票代開"
