"""How separable toxic and normal texts are to a cheap classic classifier, on held-out campaigns.

:func:`heldout_ngram_auc` trains the risk ranker's character n-gram logistic regression
(:class:`qx_env.rankers.NgramLogisticRegression`) on half of a snapshot's toxic clusters and
half of its normal items, and reports the ROC AUC on the other half: toxic clusters are held out
whole (a new campaign's wording is unseen), normal items are split at random. On real corpora the
same classifier sits well below 1; a synthetic marketplace far above that has a label oracle in
its surface text.

``python -m benchmarks.separability --items 40000 --toxic-share 0.02`` prints the AUC of synthetic
snapshots next to the real corpora (COLD train -> test; the harm-zh and fbs-zh presets).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks._common import parse_args
from qx_env.rankers import LabeledTexts, NgramLogisticRegression
from qx_env.snapshot import Snapshot


@dataclass
class Args:
    items: tuple[int, ...] = (40_000,)
    """Synthetic corpus sizes measured."""
    toxic_share: tuple[float, ...] = ()
    """Toxic shares measured at each size; empty: SynthConfig's default."""
    seed: int = 0
    """Seed of the synthetic corpora, the presets and the held-out split."""
    real: bool = False
    """Also measure COLD and the harm-zh/fbs-zh presets."""
    data_dir: str = "../shared/data"
    """The real corpora (see ../shared/data/README.md)."""


def heldout_split(labels: np.ndarray, clusters: list[str | None], seed: int = 0,
                  test_share: float = 0.5) -> np.ndarray:
    """Boolean test mask: ``test_share`` of the toxic clusters (whole; a toxic item without a
    cluster is its own), and ``test_share`` of the normal items at random."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    normal = np.flatnonzero(labels == 0)
    test[rng.choice(normal, size=round(test_share * len(normal)), replace=False)] = True
    toxic = np.flatnonzero(labels == 1)
    groups: dict[str, list[int]] = {}
    for i in toxic:
        groups.setdefault(clusters[i] or f"item:{i}", []).append(int(i))
    names = sorted(groups)
    rng.shuffle(names)
    # Alternate whole clusters between the halves, largest first, so both get toxic items.
    names.sort(key=lambda n: -len(groups[n]))
    held, kept = 0, 0
    for name in names:
        if held <= kept * test_share / (1 - test_share):
            test[groups[name]] = True
            held += len(groups[name])
        else:
            kept += len(groups[name])
    return test


def ngram_auc(train: LabeledTexts, test: LabeledTexts, C: float = 4.0) -> float:
    """ROC AUC on ``test`` of the n-gram logistic regression fitted on ``train``."""
    from sklearn.metrics import roc_auc_score

    scores = NgramLogisticRegression(C).fit(train).score(test.texts)
    return float(roc_auc_score(test.labels, scores))


def heldout_ngram_auc(snapshot: Snapshot, seed: int = 0) -> float:
    """AUC of the character n-gram classifier on held-out toxic clusters (grouped by
    ``cluster_id``) against held-out normal items; see :func:`heldout_split`."""
    labels = np.asarray(snapshot.labels).astype(np.int64)
    if labels.sum() < 2 or (labels == 0).sum() < 2:
        raise ValueError("heldout_ngram_auc needs at least two toxic and two normal items")
    clusters = snapshot.items.column("cluster_id").to_pylist()
    test = heldout_split(labels, clusters, seed)
    texts = list(snapshot.texts)
    data = LabeledTexts(snapshot.meta.name, texts, labels)
    return ngram_auc(data.subset(~test, "train"), data.subset(test, "test"))


def cold_auc(data_dir: Path) -> float:
    """COLD: train on its train split, test on its test split (offensive = 1)."""
    import csv

    def read(split: str) -> LabeledTexts:
        with (data_dir / f"cold/{split}.csv").open(encoding="utf-8-sig", newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("TEXT")]
        return LabeledTexts(f"cold/{split}", [r["TEXT"] for r in rows], np.array([int(r["label"]) for r in rows]))

    return ngram_auc(read("train"), read("test"))


def main(args: Args) -> int:
    from qx_env.corpus import SynthConfig, compose, get_preset, synthesize

    data_dir = Path(args.data_dir)
    for items in args.items:
        for share in args.toxic_share or (None,):
            config = SynthConfig(items=items, seed=args.seed, **({} if share is None else {"toxic_share": share}))
            started = time.perf_counter()
            snapshot = synthesize(config, progress=False)
            made = time.perf_counter() - started
            auc = heldout_ngram_auc(snapshot, args.seed)
            print(f"synth items={items} toxic_share={config.toxic_share} toxic={int(snapshot.labels.sum())} "
                  f"AUC={auc:.3f} (synth {made:.1f} s)", flush=True)
    if args.real:
        print(f"cold train->test AUC={cold_auc(data_dir):.3f}", flush=True)
        for preset in ("harm-zh", "fbs-zh"):
            snapshot = compose(get_preset(preset), data_dir=data_dir, seed=args.seed, progress=False)
            print(f"{preset} held-out clusters AUC={heldout_ngram_auc(snapshot, args.seed):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(parse_args(Args, __doc__.splitlines()[0])))
