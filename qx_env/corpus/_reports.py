"""Reports: the toxic items whose texts start explorations, with their auditor annotations and split."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from qx_env.errors import CorpusSourceError
from qx_env.snapshot import DEFAULT_FRACTIONS, REPORT_COLUMNS, SplitRule, split_reports


def sample_report_positions(labels: np.ndarray, share: float, seed: int, fix: str = "") -> np.ndarray:
    """Pick ``share`` of the toxic items (at least one), uniformly, in item order. A corpus without
    toxic items has no report to start an episode from, so it is refused (``fix`` says what to change)."""
    if not 0 < share <= 1:
        raise ValueError(f"report share must be in (0, 1], got {share}")
    toxic = np.flatnonzero(labels == 1)
    if len(toxic) == 0:
        raise CorpusSourceError("the corpus has no toxic item, hence no report to explore from"
                                + (f": {fix}" if fix else ""))
    count = max(1, round(share * len(toxic)))
    return np.sort(np.random.default_rng(seed).choice(toxic, size=count, replace=False))


def reports_table(
    item_ids: Sequence[str],
    clusters: Sequence[str | None],
    seed: int,
    annotations: Sequence[Sequence[str]] | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    split_by: str = "campaign",
    created: Sequence[int] | None = None,
    split_groups: Sequence[str | None] | None = None,
    **extra_columns: Sequence | pa.Array,
) -> pa.Table:
    """Assemble ``reports.parquet``: ids ``r000000...``, splits by ``split_by`` (see
    :class:`qx_env.snapshot.SplitRule`; ``created`` is each reported item's step, for the time rule;
    ``split_groups`` what the campaign rule keeps together, default the clusters).
    Give an extra column as a typed Arrow array when it may be empty (a plain empty list has Arrow
    type null)."""
    n = len(item_ids)
    rule = SplitRule(split_by, seed, tuple(fractions))
    columns = {
        "report_id": pa.array([f"r{i:06d}" for i in range(n)], pa.string()),
        "item_id": pa.array(list(item_ids), pa.string()),
        "annotations": pa.array([list(a) for a in annotations] if annotations else [[] for _ in range(n)],
                                REPORT_COLUMNS["annotations"]),
        "split": pa.array(split_reports(rule, [g or c for g, c in zip(split_groups or clusters, clusters)],
                                        list(created) if created is not None else [0] * n), pa.string()),
        "cluster_id": pa.array(list(clusters), pa.string()),
    }
    for name, values in extra_columns.items():  # typed arrays keep their type when empty
        columns[name] = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(list(values))
    return pa.table(columns)
