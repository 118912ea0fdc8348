"""Reports: the toxic items whose texts start explorations, with their auditor annotations and split."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from qx_env.snapshot import DEFAULT_FRACTIONS, REPORT_COLUMNS, assign_splits


def sample_report_positions(labels: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Pick ``share`` of the toxic items (at least one), uniformly, in item order."""
    if not 0 < share <= 1:
        raise ValueError(f"report share must be in (0, 1], got {share}")
    toxic = np.flatnonzero(labels == 1)
    if len(toxic) == 0:
        return toxic
    count = max(1, round(share * len(toxic)))
    return np.sort(np.random.default_rng(seed).choice(toxic, size=count, replace=False))


def reports_table(
    item_ids: Sequence[str],
    clusters: Sequence[str | None],
    seed: int,
    annotations: Sequence[Sequence[str]] | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    **extra_columns: Sequence,
) -> pa.Table:
    """Assemble ``reports.parquet``: ids ``r000000...``, splits grouped by cluster."""
    n = len(item_ids)
    columns = {
        "report_id": pa.array([f"r{i:06d}" for i in range(n)], pa.string()),
        "item_id": pa.array(list(item_ids), pa.string()),
        "annotations": pa.array([list(a) for a in annotations] if annotations else [[] for _ in range(n)],
                                REPORT_COLUMNS["annotations"]),
        "split": pa.array(assign_splits(list(clusters), seed, fractions), pa.string()),
        "cluster_id": pa.array(list(clusters), pa.string()),
    }
    columns.update({name: pa.array(list(values)) for name, values in extra_columns.items()})
    return pa.table(columns)
