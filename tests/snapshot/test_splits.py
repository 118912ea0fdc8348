from collections import Counter

import pytest

from qx_env.snapshot import assign_splits


def test_groups_stay_together_and_fractions_hold():
    groups = [f"c{i % 40}" for i in range(800)]
    splits = assign_splits(groups, seed=3)
    by_group = {}
    for group, split in zip(groups, splits):
        by_group.setdefault(group, set()).add(split)
    assert all(len(s) == 1 for s in by_group.values())
    counts = Counter(splits)
    assert counts["train"] == pytest.approx(560, abs=40)
    assert counts["test"] == pytest.approx(160, abs=40)
    assert counts["dev"] > 0


def test_deterministic_from_seed_and_seed_matters():
    groups = [f"c{i % 30}" for i in range(300)]
    assert assign_splits(groups, seed=1) == assign_splits(groups, seed=1)
    assert assign_splits(groups, seed=1) != assign_splits(groups, seed=2)


def test_three_groups_fill_three_splits_and_bad_fractions_fail():
    assert sorted(assign_splits(["a", "b", "c"], seed=0)) == ["dev", "test", "train"]
    with pytest.raises(ValueError, match="summing to 1"):
        assign_splits(["a"], seed=0, fractions=(0.5, 0.5, 0.5))
