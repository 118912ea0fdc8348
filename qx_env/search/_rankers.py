"""Rankers of the search system's ranking phase: each gives every item a risk score, and the
candidates of a query are exposed in descending score. ``retrieval`` keeps the retrieval order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from qx_env.errors import QxError
from qx_env.snapshot import Snapshot

EVALUATION_SPLITS = ("dev", "test")


class Ranker:
    """Base ranker: no scores, so candidates keep their retrieval order."""

    name = "retrieval"

    def __init__(self, snapshot: Snapshot, **options: Any) -> None:
        if options:
            raise QxError(f"ranker {self.name!r} takes no options, got {sorted(options)}")
        self.snapshot = snapshot

    def scores(self) -> np.ndarray | None:
        return None


class OracleRanker(Ranker):
    """A noisy score of the hidden label with a chosen ROC AUC (binormal: the toxic scores are
    shifted by ``sqrt(2) * Phi^-1(auc)`` standard deviations). For controlled experiments only."""

    name = "oracle"

    def __init__(self, snapshot: Snapshot, auc: float = 0.8, seed: int = 0) -> None:
        from scipy.stats import norm

        if not 0.5 <= float(auc) < 1:
            raise QxError(f"oracle auc must be in [0.5, 1), got {auc}")
        self.snapshot, self.auc, self.seed = snapshot, float(auc), int(seed)
        shift = np.sqrt(2.0) * norm.ppf(self.auc)
        noise = np.random.default_rng(self.seed).standard_normal(len(snapshot))
        self._scores = (noise + shift * snapshot.labels).astype(np.float32)

    def scores(self) -> np.ndarray:
        return self._scores


def evaluation_clusters(snapshot: Snapshot) -> set[str]:
    """Clusters of the dev and test reports: what a trained ranker must never see."""
    reports = snapshot.reports_in(EVALUATION_SPLITS)
    return {c for c in reports.column("cluster_id").to_pylist() if c is not None} | {
        f"\0item:{i}" for i in reports.column("item_id").to_pylist()
    }


class RiskRanker(Ranker):
    """Logistic regression on character n-grams (hashed TF-IDF), trained on the labels of items
    outside the evaluation reports' clusters. Scores are cached beside the indexes, keyed by the
    snapshot fingerprint."""

    name = "risk"

    def __init__(self, snapshot: Snapshot, cache: bool = True, C: float = 4.0) -> None:
        self.snapshot, self.C = snapshot, float(C)
        self._scores = self._cached() if cache else None
        if self._scores is None:
            self._scores = self._fit_and_score()
            if cache:
                self._store(self._scores)

    def training_mask(self) -> np.ndarray:
        """Items the classifier may learn from: not a reported evaluation item, not in its cluster."""
        excluded = evaluation_clusters(self.snapshot)
        clusters = self.snapshot.items.column("cluster_id").to_pylist()
        ids = self.snapshot.ids
        return np.array([c not in excluded and f"\0item:{i}" not in excluded for c, i in zip(clusters, ids)])

    def _fit_and_score(self) -> np.ndarray:
        from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
        from sklearn.linear_model import LogisticRegression

        texts, labels = self.snapshot.texts, self.snapshot.labels
        train = self.training_mask()
        if len(set(labels[train].tolist())) < 2:
            raise QxError("the risk ranker needs toxic and normal items outside the evaluation clusters")
        hashed = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 3), n_features=2**20,
                                   alternate_sign=False).transform(texts)
        tfidf = TfidfTransformer(sublinear_tf=True).fit(hashed[train])
        features = tfidf.transform(hashed)
        model = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced")
        model.fit(features[train], labels[train])
        return model.predict_proba(features)[:, 1].astype(np.float32)

    def _cache_paths(self) -> tuple[Path, Path] | None:
        if self.snapshot.path is None:
            return None
        directory = self.snapshot.path / "indexes" / "risk"
        return directory / "scores.npy", directory / "scores.json"

    def _cached(self) -> np.ndarray | None:
        paths = self._cache_paths()
        if paths is None or not paths[0].is_file() or not paths[1].is_file():
            return None
        try:
            meta = json.loads(paths[1].read_text())
            scores = np.load(paths[0], allow_pickle=False)
        except (ValueError, OSError):
            return None
        if meta.get("snapshot_fingerprint") != self.snapshot.fingerprint or meta.get("C") != self.C:
            return None
        return scores if len(scores) == len(self.snapshot) else None

    def _store(self, scores: np.ndarray) -> None:
        paths = self._cache_paths()
        if paths is None:
            return
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        staging = paths[0].with_suffix(".tmp.npy")
        np.save(staging, scores)
        staging.replace(paths[0])
        paths[1].write_text(json.dumps({"snapshot_fingerprint": self.snapshot.fingerprint, "C": self.C}))

    def scores(self) -> np.ndarray:
        return self._scores


RANKERS: dict[str, type[Ranker]] = {cls.name: cls for cls in (Ranker, RiskRanker, OracleRanker)}


def make_ranker(name: str, snapshot: Snapshot, **options: Any) -> Ranker:
    if name not in RANKERS:
        raise QxError(f"unknown ranker {name!r}; choose from {', '.join(RANKERS)}")
    try:
        return RANKERS[name](snapshot, **options)
    except TypeError as exc:
        raise QxError(f"bad options for ranker {name!r}: {exc}") from None
