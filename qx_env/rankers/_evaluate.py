"""Classification quality of a ranker's scores: the small-models study's Table 1 columns."""

from __future__ import annotations

import time

import numpy as np

from qx_env.errors import QxError
from qx_env.rankers._data import LabeledTexts

#: The small-models study's Table 1 columns, as named in evaluation rows.
METRICS = ("accuracy", "precision", "recall", "f1", "auc", "samples_per_s")


def classification_table(rows: list[dict]) -> str:
    """Markdown table of :func:`evaluate_ranker` rows."""
    lines = ["| ranker | data | n | " + " | ".join(METRICS) + " |", "|---|---|---:|" + "---:|" * len(METRICS)]
    for row in rows:
        cells = ["-" if row[c] is None else f"{row[c]:,.0f}" if c == "samples_per_s" else f"{row[c]:.4f}"
                 for c in METRICS]
        lines.append(f"| {row['ranker']} | {row['data']} | {row['n']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def classification_metrics(labels: np.ndarray, scores: np.ndarray, seconds: float, threshold: float = 0.5) -> dict:
    """Accuracy, precision, recall, F1 (toxic = positive, predicted when score >= ``threshold``),
    ROC AUC, and samples scored per second."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if len(labels) != len(scores) or not len(labels):
        raise QxError(f"need one score per label, got {len(scores)} scores for {len(labels)} labels")
    predicted = (scores >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, average="binary", zero_division=0)
    return {
        "accuracy": float(accuracy_score(labels, predicted)), "precision": float(precision),
        "recall": float(recall), "f1": float(f1),
        "auc": float(roc_auc_score(labels, scores)) if len(set(labels.tolist())) == 2 else float("nan"),
        "samples_per_s": len(labels) / seconds if seconds > 0 else float("inf"), "n": len(labels),
    }


def evaluate_ranker(spec: str, train: LabeledTexts, test: LabeledTexts, threshold: float = 0.5) -> dict:
    """Table 1 columns of the ranker ``spec`` on ``test`` (after learning from ``train`` where the
    ranker learns); samples/s counts scoring only."""
    from qx_env.rankers._base import parse_ranker

    cls, options = parse_ranker(spec)
    score = cls.text_scorer(train, test, **options)
    start = time.perf_counter()
    scores = score(test.texts)
    metrics = classification_metrics(test.labels, scores, time.perf_counter() - start, threshold)
    if not cls.reads_text:
        metrics["samples_per_s"] = None  # no model runs: a speed would mean nothing
    return {"ranker": spec, "data": test.name, **metrics}
