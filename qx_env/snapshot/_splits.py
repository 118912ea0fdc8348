"""Deterministic train/dev/test splits over reports, grouped by cluster so that no campaign
is seen in training and evaluated in test."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qx_env.snapshot._schema import SPLITS

DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)


def assign_splits(
    groups: Sequence[str | None],
    seed: int,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> list[str]:
    """Return a split name per report.

    Reports of one group (cluster) share a split. Reports without a group form their own group.
    Groups are shuffled with ``seed`` and filled into train, dev and test until each holds about
    its fraction of the reports. With at least three groups no split is left empty.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError("split fractions (train, dev, test) must be three non-negative numbers summing to 1, got "
                         + ", ".join(str(f) for f in fractions))
    keys = [g if g is not None else f"\0report-{i}" for i, g in enumerate(groups)]
    unique, inverse, sizes = np.unique(np.array(keys, dtype=object), return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(unique))
    targets = np.cumsum(fractions) * len(keys)
    wanted = [f > 0 for f in fractions]
    group_split = np.empty(len(unique), dtype=np.int64)
    filled, split, in_split = 0, 0, 0
    for position, group in enumerate(order):
        remaining = len(order) - position
        while split < 2:
            later = sum(wanted[split + 1:])
            # A split that reached its share is left, unless it is still empty and enough
            # groups remain for the later splits; one is also left to reserve groups for them.
            full = filled >= targets[split] - 1e-9 and (in_split > 0 or remaining <= later)
            reserve = in_split > 0 and remaining <= later
            if not (full or reserve or not wanted[split]):
                break
            split, in_split = split + 1, 0
        group_split[group] = split
        filled += sizes[group]
        in_split += 1
    return [SPLITS[s] for s in group_split[inverse]]
