"""Deterministic train/dev/test splits over reports, by one of two rules:

- ``campaign``: reports of one campaign (cluster) share a split, so that no campaign is seen in
  training and evaluated in test; campaigns are placed largest first into the split furthest below
  its share, so each split holds its share of reports whatever the campaign sizes.
- ``time``: reports ordered by their item's ``created_step``, the latest in test, so campaigns
  continue across the boundary, as when a model trained on last month's reports meets this month's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from qx_env.errors import SnapshotError
from qx_env.snapshot._schema import SPLITS

DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)
#: The split rules: how reports are assigned to train, dev and test.
SPLIT_RULES = ("campaign", "time")


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """``fractions`` as a (train, dev, test) triple, or an error naming what is wrong with them."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError("split fractions (train, dev, test) must be three non-negative numbers summing to 1, got "
                         + ", ".join(str(f) for f in fractions))
    return tuple(float(f) for f in fractions)  # type: ignore[return-value]


@dataclass(frozen=True)
class SplitRule:
    """How a snapshot's reports were split: the rule, its seed and the (train, dev, test) shares.
    Stored in ``meta.json`` (``split``) and named by every result."""

    rule: str = "campaign"
    seed: int = 0
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS

    def __post_init__(self) -> None:
        if self.rule not in SPLIT_RULES:
            raise ValueError(f"unknown split rule {self.rule!r}; choose from {', '.join(SPLIT_RULES)}")
        object.__setattr__(self, "fractions", check_fractions(self.fractions))

    def as_dict(self) -> dict:
        return {**asdict(self), "fractions": list(self.fractions)}

    def label(self) -> str:
        """``campaign seed 3, 0.7/0.1/0.2``: the rule as results print it."""
        shares = "/".join(f"{f:g}" for f in self.fractions)
        return f"{self.rule} {shares}" if self.rule == "time" else f"{self.rule} seed {self.seed}, {shares}"


def assign_splits(
    groups: Sequence[str | None],
    seed: int,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> list[str]:
    """Return a split name per report, by campaign.

    Reports of one group (cluster) share a split; reports without a group form their own group.
    Groups are shuffled with ``seed`` (which breaks ties among groups of one size), then placed
    largest first into the split furthest below its share of the reports (a greedy longest-first
    rule), so a split misses its share by at most about the smallest groups' size, not by the
    largest campaign's. With at least three groups no wanted split is left empty.
    """
    fractions = check_fractions(fractions)
    keys = [g if g is not None else f"\0report-{i}" for i, g in enumerate(groups)]
    if not keys:
        return []
    unique, inverse, sizes = np.unique(np.array(keys, dtype=object), return_inverse=True, return_counts=True)
    shuffled = np.random.default_rng(seed).permutation(len(unique))
    order = shuffled[np.argsort(-sizes[shuffled], kind="stable")]  # largest first, seeded among equals
    targets = np.asarray(fractions) * len(keys)
    wanted = np.flatnonzero(np.asarray(fractions) > 0)
    filled = np.zeros(3)
    counts = np.zeros(3, dtype=np.int64)
    group_split = np.empty(len(unique), dtype=np.int64)
    for position, group in enumerate(order):
        remaining = len(order) - position
        empty = [s for s in wanted if counts[s] == 0]
        if empty and remaining <= len(empty):  # the last groups go to wanted splits still empty
            choices = empty
        else:
            choices = list(wanted)
        deficits = targets[choices] - filled[choices]
        split = choices[int(np.argmax(deficits))]
        group_split[group] = split
        filled[split] += sizes[group]
        counts[split] += 1
    return [SPLITS[s] for s in group_split[inverse]]


def assign_time_splits(created: Sequence[int], fractions: Sequence[float] = DEFAULT_FRACTIONS) -> list[str]:
    """Return a split name per report, by time: reports ordered by their item's created step (ties in
    report order), the earliest ``fractions[0]`` in train, then dev, the latest in test. Campaigns
    cross the boundary. Refused when every report has the same step (the corpus carries no time)."""
    fractions = check_fractions(fractions)
    steps = np.asarray(created, dtype=np.int64)
    if len(steps) and steps.min() == steps.max():
        raise SnapshotError(f"every reported item has created_step {int(steps[0])}: this corpus carries no time to "
                            f"split by; split by campaign instead")
    order = np.argsort(steps, kind="stable")
    bounds = np.rint(np.cumsum(fractions)[:2] * len(steps)).astype(np.int64)
    split_of_rank = np.searchsorted(bounds, np.arange(len(steps)), side="right")
    result = np.empty(len(steps), dtype=np.int64)
    result[order] = split_of_rank
    return [SPLITS[s] for s in result]


def split_reports(rule: SplitRule, campaigns: Sequence[str | None], created: Sequence[int]) -> list[str]:
    """The split of each report under ``rule``, from the reports' campaigns and their items' created steps."""
    if rule.rule == "time":
        return assign_time_splits(created, rule.fractions)
    return assign_splits(campaigns, rule.seed, rule.fractions)
