"""A store of text encodings shared by every snapshot, keyed by encoder and text.

A pretrained encoder gives a text the same vector in every snapshot, so its encodings are kept once
per machine: ``ROOT/<encoder identity>/<shard>.keys.npy`` holds the 16-byte SHA-256 prefixes of the
texts, ``<shard>.vectors.npy`` their vectors (float32, saved without pickle) and ``<shard>.json``
the checksums of both (written last: a shard without it is incomplete and ignored). A background
encoded for one snapshot is read back, text by text, by the next snapshot that holds the same texts,
whatever the order or the other items. ``ROOT`` is ``--encodings-cache``, else ``$QX_ENCODINGS_CACHE``,
else ``encodings/`` under qx-env's cache (``$QX_CACHE_DIR``, ``$XDG_CACHE_HOME/qx-env`` or
``~/.cache/qx-env``). Deleting it, or an encoder's folder in it, is always safe: it costs a re-encoding.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Environment variable naming the store (``--encodings-cache`` wins over it).
ENV = "QX_ENCODINGS_CACHE"
#: Newly encoded texts per shard: an interrupted encoding of a large background keeps what it did
#: (at the ~650 texts/s of the use encoder on one core, a shard is about a minute of encoding).
SHARD_TEXTS = 2**15
_KEY_BYTES = 16
#: The command that writes a snapshot's encodings again, named when a shard is damaged.
REBUILD = "qx index build DIR --modes embedding"


def default_root() -> Path:
    """``$QX_ENCODINGS_CACHE``, else ``<qx-env cache>/encodings``."""
    from indexes._java import cache_root

    return Path(os.environ[ENV]).expanduser() if os.environ.get(ENV) else cache_root() / "encodings"


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """The store's key of each text: the first 16 bytes of the SHA-256 of its UTF-8, as ``(n, 16)`` uint8."""
    keys = np.empty((len(texts), _KEY_BYTES), np.uint8)
    for row, text in enumerate(texts):
        keys[row] = np.frombuffer(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:_KEY_BYTES],
                                  np.uint8)
    return keys


def _sha256(path: Path) -> str:
    from qx_env.files import file_sha256

    return file_sha256(path)


def _as_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A key as two uint64 halves: the first to sort and search, the second to confirm."""
    halves = np.ascontiguousarray(keys).view(np.uint64)
    return halves[:, 0], halves[:, 1]


class EncodingStore:
    """The shards of one encoder under ``root`` (see the module docstring)."""

    def __init__(self, root: str | os.PathLike, identity: str, dim: int):
        self.root = Path(root).expanduser()
        self.identity, self.dim = identity, int(dim)
        self.folder = self.root / identity

    def _shards(self) -> list[Path]:
        return sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []

    def _damaged(self, record: Path, why: str) -> None:
        """Warn about a damaged shard, and remove it so that its texts are encoded and stored again."""
        warnings.warn(f"encodings cache {record.with_suffix('')}.* is damaged ({why}): not used, its texts are "
                      f"encoded again and stored anew (`{REBUILD}` re-encodes a snapshot's texts; deleting "
                      f"{self.folder} is safe)", stacklevel=3)
        for suffix in (".json", ".keys.npy", ".vectors.npy"):
            record.with_suffix(suffix).unlink(missing_ok=True)

    def _read_keys(self, record: Path) -> tuple[dict, np.ndarray] | None:
        try:
            meta = json.loads(record.read_text())
            path = record.with_suffix(".keys.npy")
            if meta.get("encoder") != self.identity or meta.get("dim") != self.dim:
                raise ValueError(f"made for {meta.get('encoder')!r} with {meta.get('dim')} dimensions")
            if _sha256(path) != meta["sha256"]["keys"]:
                raise ValueError("keys fail their checksum")
            keys = np.load(path, allow_pickle=False)
            if keys.dtype != np.uint8 or keys.ndim != 2 or keys.shape[1] != _KEY_BYTES or len(keys) != meta["texts"]:
                raise ValueError(f"keys of shape {keys.shape}")
            return meta, keys
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._damaged(record, str(exc))
            return None

    def _read_vectors(self, record: Path, meta: dict) -> np.ndarray | None:
        try:
            path = record.with_suffix(".vectors.npy")
            if _sha256(path) != meta["sha256"]["vectors"]:
                raise ValueError("vectors fail their checksum")
            vectors = np.load(path, allow_pickle=False, mmap_mode="r")
            if vectors.dtype != np.float32 or vectors.shape != (meta["texts"], self.dim):
                raise ValueError(f"vectors of shape {vectors.shape} and type {vectors.dtype}")
            return vectors
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._damaged(record, str(exc))
            return None

    def lookup(self, keys: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Fill ``out``'s rows of the keys found in the store; return which were found (a damaged
        shard is warned about, removed, and its texts count as not found)."""
        found = np.zeros(len(keys), bool)
        shards = [(record, *read) for record in self._shards() if (read := self._read_keys(record)) is not None]
        if not shards or not len(keys):
            return found
        stored = np.concatenate([k for _, _, k in shards])
        owner = np.concatenate([np.full(len(k), i) for i, (_, _, k) in enumerate(shards)])
        row = np.concatenate([np.arange(len(k)) for _, _, k in shards])
        high, low = _as_pairs(stored)
        order = np.argsort(high, kind="stable")
        want_high, want_low = _as_pairs(keys)
        at = np.minimum(np.searchsorted(high[order], want_high), len(order) - 1)
        match = order[at]
        hit = (high[match] == want_high) & (low[match] == want_low)
        for shard in np.unique(owner[match[hit]]):
            record, meta, _ = shards[shard]
            vectors = self._read_vectors(record, meta)
            if vectors is None:
                continue
            mine = np.flatnonzero(hit & (owner[match] == shard))
            out[mine] = vectors[row[match[mine]]]
            found[mine] = True
        return found

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store one shard (vectors and keys first, the checksummed record last, each atomically)."""
        from qx_env.files import atomic_file, write_text_atomic

        if not len(keys):
            return
        keys = np.ascontiguousarray(keys, dtype=np.uint8)
        name = hashlib.sha256(keys.tobytes()).hexdigest()[:20]
        paths = {part: self.folder / f"{name}.{part}.npy" for part in ("keys", "vectors")}
        for part, array in (("keys", keys), ("vectors", np.ascontiguousarray(vectors, dtype=np.float32))):
            with atomic_file(paths[part]) as staging, open(staging, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
        write_text_atomic(self.folder / f"{name}.json", json.dumps({
            "encoder": self.identity, "dim": self.dim, "texts": len(keys),
            "sha256": {part: _sha256(path) for part, path in paths.items()}}))
