"""Labeled texts for training and evaluating rankers: a snapshot's items (never the evaluation
reports' clusters in training) or a real labeled corpus such as COLD."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qx_env.errors import QxError
from qx_env.snapshot import Snapshot

EVALUATION_SPLITS = ("dev", "test")
#: Where the real corpora live, relative to the project root (see shared/data/README.md).
DEFAULT_DATA_DIR = Path("../shared/data")


@dataclass(frozen=True)
class LabeledTexts:
    """Texts with binary labels (1 = toxic); ``name`` says where they came from."""

    name: str
    texts: list[str]
    labels: np.ndarray

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise QxError(f"{self.name}: {len(self.texts)} texts but {len(self.labels)} labels")
        values = set(np.unique(self.labels).tolist())
        if not values <= {0, 1}:
            raise QxError(f"{self.name}: labels must be 0 or 1, found {sorted(values - {0, 1})[:5]}")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, mask_or_indices: np.ndarray, name: str = "") -> LabeledTexts:
        indices = np.flatnonzero(mask_or_indices) if mask_or_indices.dtype == bool else mask_or_indices
        return LabeledTexts(name or self.name, [self.texts[i] for i in indices], self.labels[indices])

    def sample(self, limit: int, seed: int = 0) -> LabeledTexts:
        """At most ``limit`` rows (0 = all), drawn without replacement, in their original order."""
        if limit <= 0 or limit >= len(self):
            return self
        chosen = np.sort(np.random.default_rng(seed).choice(len(self), limit, replace=False))
        return self.subset(chosen, f"{self.name} (sample of {limit:,})")

    def require_both_classes(self) -> None:
        if len(set(self.labels.tolist())) < 2:
            raise QxError(f"{self.name}: need toxic and normal texts, found only label {int(self.labels[0])}"
                          if len(self) else f"{self.name}: no texts")


def evaluation_clusters(snapshot: Snapshot) -> set[str]:
    """Clusters of the dev and test reports (and their items): what a trained ranker must never see."""
    reports = snapshot.reports_in(EVALUATION_SPLITS)
    return {c for c in reports.column("cluster_id").to_pylist() if c is not None} | {
        f"\0item:{i}" for i in reports.column("item_id").to_pylist()
    }


def heldout_mask(snapshot: Snapshot, holdout: float = 0.1, seed: int = 0) -> np.ndarray:
    """Items a ranker may not learn from: every item of the evaluation reports' clusters, plus a
    seeded ``holdout`` share of the rest (so that evaluation has normal items too)."""
    if not 0 <= holdout < 1:
        raise QxError(f"holdout must be in [0, 1), got {holdout}")
    excluded = evaluation_clusters(snapshot)
    clusters = snapshot.items.column("cluster_id").to_pylist()
    in_evaluation = np.array([c in excluded or f"\0item:{i}" in excluded for c, i in zip(clusters, snapshot.ids)],
                             dtype=bool)
    return in_evaluation | (np.random.default_rng(seed).random(len(snapshot)) < holdout)


def snapshot_sets(snapshot: Snapshot, holdout: float = 0.1, seed: int = 0) -> tuple[LabeledTexts, LabeledTexts]:
    """(train, test) items of a snapshot; test is :func:`heldout_mask`."""
    everything = LabeledTexts(str(snapshot.path or "snapshot"), list(snapshot.texts),
                              np.asarray(snapshot.labels, dtype=np.int8))
    test = heldout_mask(snapshot, holdout, seed)
    return everything.subset(~test, f"{everything.name} train"), everything.subset(test, f"{everything.name} held out")


def read_labeled(path: str | Path, text_col: str, label_col: str, name: str = "") -> LabeledTexts:
    """Labeled texts from a CSV/TSV/JSON/JSONL/Parquet file with a 0/1 label column."""
    from qx_env.corpus.compose import Source, read_source

    frame = read_source(Source(path=str(path), text_col=text_col, label_col=label_col))
    return LabeledTexts(name or str(path), frame["text"].tolist(), frame["label"].to_numpy(dtype=np.int8))


def cold_sets(data_dir: str | Path = DEFAULT_DATA_DIR) -> tuple[LabeledTexts, LabeledTexts]:
    """COLD (Chinese offensive language): its train split to learn from (less texts that recur in
    the test split), its test split to evaluate."""
    root = Path(data_dir) / "cold"
    if not root.is_dir():
        raise QxError(f"COLD is not at {root}; pass --data-dir, the folder that holds cold/")
    train, test = (read_labeled(root / f"{split}.csv", "TEXT", "label", f"COLD {split}") for split in ("train", "test"))
    in_test = set(test.texts)  # 39 texts of COLD's train split recur in its test split: not learned from
    return train.subset(np.array([t not in in_test for t in train.texts]), "COLD train"), test


#: Real labeled corpora with their own train/test splits, by name.
LABELED_PRESETS: dict[str, Callable[[str | Path], tuple[LabeledTexts, LabeledTexts]]] = {"cold": cold_sets}


def labeled_sets(source: str | Snapshot, data_dir: str | Path = DEFAULT_DATA_DIR, holdout: float = 0.1,
                 seed: int = 0) -> tuple[LabeledTexts, LabeledTexts]:
    """(train, test) from a preset name (``cold``), a snapshot (directory or loaded), or a file with
    ``text`` and ``label`` columns (split by a seeded ``holdout`` share)."""
    if isinstance(source, Snapshot):
        return snapshot_sets(source, holdout, seed)
    if source in LABELED_PRESETS:
        return LABELED_PRESETS[source](data_dir)
    if Path(source).is_file():
        data = read_labeled(source, "text", "label")
        test = np.random.default_rng(seed).random(len(data)) < (holdout or 0.1)
        return data.subset(~test, f"{data.name} train"), data.subset(test, f"{data.name} held out")
    if not (Path(source) / "meta.json").is_file():
        raise QxError(f"{source!r} is neither a snapshot directory, a labeled file with text and label columns, "
                      f"nor a labeled preset ({', '.join(LABELED_PRESETS)})")
    return snapshot_sets(Snapshot.load(source), holdout, seed)
