from collections import Counter

import numpy as np
import pytest

from qx_env.errors import SnapshotError
from qx_env.snapshot import assign_splits, assign_time_splits


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


def _heavy_tailed_campaigns(seed: int, reports: int = 1800) -> list[str | None]:
    """Campaign sizes from a power law (a few of 40-60 reports, many of 1-3) and a third singletons."""
    rng = np.random.default_rng(seed)
    groups: list[str | None] = []
    campaign = 0
    while len(groups) < reports:
        if rng.random() < 0.33:
            groups.append(None)
            continue
        size = min(64, int(rng.pareto(1.2)) + 1)
        groups += [f"c{campaign}"] * size
        campaign += 1
    return groups[:reports]


@pytest.mark.parametrize("seed", range(6))
def test_campaign_split_holds_every_share_within_three_points_on_heavy_tailed_campaigns(seed):
    groups = _heavy_tailed_campaigns(seed)
    splits = assign_splits(groups, seed=seed)
    counts = Counter(splits)
    for name, share in zip(("train", "dev", "test"), (0.7, 0.1, 0.2)):
        assert abs(counts[name] / len(groups) - share) <= 0.03, (name, counts)
    by_group = {}
    for group, split in zip(groups, splits):
        if group is not None:
            by_group.setdefault(group, set()).add(split)
    assert all(len(s) == 1 for s in by_group.values())


def test_time_split_puts_the_latest_reports_in_test_and_lets_campaigns_cross():
    rng = np.random.default_rng(0)
    created = rng.integers(0, 100, size=500).tolist()
    campaigns = [f"c{i % 7}" for i in range(500)]
    splits = assign_time_splits(created, (0.7, 0.1, 0.2))
    steps = {name: [c for c, s in zip(created, splits) if s == name] for name in ("train", "dev", "test")}
    assert max(steps["train"]) <= min(steps["dev"]) and max(steps["dev"]) <= min(steps["test"])
    assert Counter(splits) == {"train": 350, "dev": 50, "test": 100}
    crossing = {c for c, s in zip(campaigns, splits) if s == "test"} & {c for c, s in zip(campaigns, splits) if s == "train"}
    assert crossing  # campaigns continue across the boundary
    with pytest.raises(SnapshotError, match="carries no time"):
        assign_time_splits([3, 3, 3])


def test_a_snapshot_is_split_anew_in_place_and_its_indexes_stay_valid(synth_config, tmp_path):
    from dataclasses import replace

    from indexes import KeywordIndex
    from qx_env.corpus import synthesize
    from qx_env.snapshot import Snapshot, SplitRule

    path = synthesize(replace(synth_config, items=800), progress=False).save(tmp_path / "s")
    snapshot = Snapshot.load(path)
    assert snapshot.meta.split["rule"] == "campaign" and snapshot.split_rule.startswith("campaign seed")
    KeywordIndex.build(snapshot, progress=False)
    before = snapshot.reports.column("split").to_pylist()
    after = snapshot.resplit(SplitRule("time", fractions=(0.6, 0.2, 0.2)))
    reloaded = Snapshot.load(path)  # checksums verified
    assert reloaded.reports.column("split").to_pylist() == after.reports.column("split").to_pylist() != before
    assert reloaded.meta.split == {"rule": "time", "seed": 0, "fractions": [0.6, 0.2, 0.2]}
    assert reloaded.meta.counts["splits"]["test"] == round(0.2 * reloaded.reports.num_rows)
    assert reloaded.fingerprint != snapshot.fingerprint and reloaded.items_fingerprint == snapshot.items_fingerprint
    assert KeywordIndex.open(reloaded).search("转让").positions is not None  # not refused as another snapshot's
    steps = reloaded.items.column("created_step").to_numpy()
    created = [int(steps[reloaded.position_of[i]]) for i in reloaded.reports.column("item_id").to_pylist()]
    test_steps = [c for c, s in zip(created, reloaded.reports.column("split").to_pylist()) if s == "test"]
    assert min(test_steps) >= max(c for c, s in zip(created, reloaded.reports.column("split").to_pylist())
                                  if s == "train")


def test_qx_corpus_split_prints_the_counts_and_refuses_bad_fractions(synth_config, tmp_path, capsys):
    from dataclasses import replace

    from qx_env.cli import main
    from qx_env.corpus import synthesize

    path = synthesize(replace(synth_config, items=600), progress=False).save(tmp_path / "s")
    assert main(["corpus", "split", str(path), "--by", "time"]) == 0
    assert "by time 0.7/0.1/0.2" in capsys.readouterr().out
    assert main(["corpus", "split", str(path), "--splits", "0.5,0.5,0.5"]) == 2
    assert "summing to 1" in capsys.readouterr().err
