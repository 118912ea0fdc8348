"""Per-snapshot score caches: one pass of a scorer over every item, stored beside the indexes
(``DIR/indexes/rankers/<name>-<key>/``) so that ranking inside an env step is a lookup. A cache
is tied to the snapshot fingerprint and to the scorer's configuration (model hash included)."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from qx_env.errors import QxError
from qx_env.files import atomic_file, write_text_atomic
from qx_env.rankers._base import Ranker, register
from qx_env.snapshot import Snapshot

SCORES_FILE, META_FILE = "scores.npy", "scores.json"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_scores(directory: str | Path, snapshot: Snapshot, scores: np.ndarray, config: dict[str, Any]) -> Path:
    """Store ``scores`` (one per item) atomically with the snapshot fingerprint and ``config``."""
    directory = Path(directory)
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    if scores.shape != (len(snapshot),):
        raise QxError(f"need one score per item ({len(snapshot)}), got shape {scores.shape}")
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"snapshot_fingerprint": snapshot.fingerprint, "items": len(snapshot), "config": config,
            "scores_sha256": _digest(scores.tobytes())}
    with atomic_file(directory / SCORES_FILE) as staging, open(staging, "wb") as handle:
        np.save(handle, scores, allow_pickle=False)
    write_text_atomic(directory / META_FILE, json.dumps(meta, indent=2, default=str))  # last: it vouches for the scores
    return directory


def read_scores(directory: str | Path, snapshot: Snapshot) -> tuple[np.ndarray, dict[str, Any]]:
    """Scores written by :func:`write_scores` for this very snapshot; anything else is an error
    that says what is wrong."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / META_FILE).read_text())
        scores = np.load(directory / SCORES_FILE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise QxError(f"{directory} holds no readable score cache ({exc}); rescore with `qx ranker score`") from None
    if meta.get("snapshot_fingerprint") != snapshot.fingerprint:
        raise QxError(f"score cache {directory} was computed for another snapshot "
                      f"(fingerprint {str(meta.get('snapshot_fingerprint'))[:12]}, this one is "
                      f"{snapshot.fingerprint[:12]}); rescore with `qx ranker score`")
    if scores.shape != (len(snapshot),) or meta.get("scores_sha256") != _digest(scores.astype(np.float32).tobytes()):
        raise QxError(f"score cache {directory} is damaged (shape or checksum); rescore with `qx ranker score`")
    return scores, meta


class ScoreCache:
    """The automatic cache of one scorer configuration for one snapshot (none for in-memory ones)."""

    def __init__(self, snapshot: Snapshot, name: str, config: dict[str, Any]) -> None:
        self.snapshot, self.config = snapshot, config
        key = _digest(json.dumps(config, sort_keys=True, default=str).encode())[:16]
        self.directory = snapshot.path / "indexes" / "rankers" / f"{name}-{key}" if snapshot.path else None

    def load(self) -> np.ndarray | None:
        """Cached scores, or None when there are none yet or they no longer match the snapshot."""
        if self.directory is None or not (self.directory / META_FILE).is_file():
            return None
        try:
            return read_scores(self.directory, self.snapshot)[0]
        except QxError as exc:
            warnings.warn(f"ignoring a stale score cache, scoring again: {exc}", stacklevel=2)
            return None

    def store(self, scores: np.ndarray) -> None:
        if self.directory is not None:
            write_scores(self.directory, self.snapshot, scores, self.config)


def cached_scores(snapshot: Snapshot, name: str, config: dict[str, Any], compute: Callable[[], np.ndarray],
                  cache: bool = True) -> np.ndarray:
    """The scores of ``name`` under ``config`` from the automatic cache, else ``compute()``d and stored
    there; with ``cache=False`` always computed and never stored."""
    if not cache:
        return compute()
    store = ScoreCache(snapshot, name, config)
    scores = store.load()
    if scores is None:
        scores = compute()
        store.store(scores)
    return scores


@register
class PrecomputedRanker(Ranker):
    """``scores:path=DIR``: scores computed elsewhere (``qx ranker score``, e.g. on a GPU machine)
    for this snapshot; a cache made for another snapshot is refused."""

    name = "scores"

    def __init__(self, snapshot: Snapshot, path: str = "") -> None:
        super().__init__(snapshot)
        if not path:
            raise QxError("the scores ranker needs path=DIR (a directory written by `qx ranker score`)")
        self._scores, self.meta = read_scores(path, snapshot)

    def scores(self) -> np.ndarray:
        return self._scores

    @classmethod
    def text_scorer(cls, train, test, **options):
        raise QxError("precomputed scores belong to one snapshot's items; evaluate the ranker that made them")
