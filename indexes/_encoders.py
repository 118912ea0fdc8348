"""Text encoders for embedding retrieval. The default is fitted on the snapshot itself and needs no
download: character n-gram TF-IDF (hashed, so it has no vocabulary to store) reduced by truncated
SVD, which suits Chinese and English alike. A Hugging Face encoder (e.g. a sentence-transformers
model) loads from a local path. Both save as plain arrays and JSON, never pickle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import numpy as np

from qx_env.errors import QxError

ENCODER_FILE = "encoder.json"


class Encoder(Protocol):
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""

    def save(self, directory: Path) -> None: ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    return vectors


class NgramSvdEncoder:
    """Character n-gram TF-IDF over the ``features`` most frequent hashed n-grams, projected by
    truncated SVD to ``dim`` dimensions."""

    kind = "ngram-svd"
    n_features = 2**20  # hashing space; only ``features`` of its columns are kept

    def __init__(self, columns: np.ndarray, idf: np.ndarray, components: np.ndarray, ngram_range=(1, 3)):
        self.columns = columns.astype(np.int64)
        self.idf = idf.astype(np.float32)
        self.components = np.ascontiguousarray(components, dtype=np.float32)
        self.ngram_range = tuple(ngram_range)
        self.dim = components.shape[0]

    def _vectorizer(self):
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, n_features=self.n_features,
                                 alternate_sign=False, norm=None, lowercase=True)

    def _counts(self, texts: list[str]):
        return self._vectorizer().transform(texts)

    def _tfidf(self, counts):
        """Keep the known columns (renumbered), apply sublinear tf and idf, L2-normalise."""
        import scipy.sparse as sp
        from sklearn.preprocessing import normalize

        lookup = self._lookup
        column = lookup[counts.indices]
        keep = column >= 0
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))[keep]
        values = (1.0 + np.log(counts.data[keep])) * self.idf[column[keep]]
        matrix = sp.csr_matrix((values.astype(np.float32), (rows, column[keep])), shape=(counts.shape[0], len(self.idf)))
        return normalize(matrix)

    @property
    def _lookup(self) -> np.ndarray:
        if getattr(self, "_lookup_array", None) is None:
            self._lookup_array = np.full(self.n_features, -1, dtype=np.int64)
            self._lookup_array[self.columns] = np.arange(len(self.columns))
        return self._lookup_array

    @classmethod
    def fit(cls, texts: list[str], dim: int = 128, features: int = 30_000, seed: int = 0) -> NgramSvdEncoder:
        from sklearn.decomposition import TruncatedSVD

        counts = cls(np.zeros(0), np.zeros(0), np.zeros((1, 0)))._counts(texts)
        frequency = np.bincount(counts.indices, minlength=cls.n_features)  # documents per hashed n-gram
        columns = np.sort(np.argsort(-frequency, kind="stable")[:features])
        columns = columns[frequency[columns] > 0]
        idf = np.log((1 + len(texts)) / (1 + frequency[columns])) + 1
        encoder = cls(columns, idf, np.zeros((1, len(columns))))
        matrix = encoder._tfidf(counts)
        dim = max(2, min(dim, matrix.shape[0] - 1, matrix.shape[1] - 1))
        svd = TruncatedSVD(n_components=dim, random_state=seed, algorithm="randomized", n_iter=4).fit(matrix)
        encoder.components = np.ascontiguousarray(svd.components_, dtype=np.float32)
        encoder.dim, encoder._projection = dim, None
        return encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        if getattr(self, "_projection", None) is None:
            self._projection = np.ascontiguousarray(self.components.T)
        if len(texts) == 1:
            return self._encode_one(texts[0])
        return _normalize(self._tfidf(self._counts(texts)) @ self._projection)

    def _encode_one(self, text: str) -> np.ndarray:
        """The same vector as the batch path, without sparse-matrix overhead (the query hot path):
        n-grams hashed exactly as HashingVectorizer does (signed murmurhash3, absolute value)."""
        from sklearn.utils import murmurhash3_32

        if getattr(self, "_analyzer", None) is None:
            self._analyzer = self._vectorizer().build_analyzer()
        hashed = np.fromiter((abs(murmurhash3_32(g, seed=0)) % self.n_features for g in self._analyzer(text)),
                             dtype=np.int64)
        columns, counts = np.unique(self._lookup[hashed], return_counts=True)
        counts, columns = counts[columns >= 0], columns[columns >= 0]
        if not len(columns):
            return np.zeros((1, self.dim), np.float32)
        weights = (1.0 + np.log(counts)) * self.idf[columns]
        weights /= np.linalg.norm(weights)
        return _normalize((weights.astype(np.float32) @ self._projection[columns])[None, :])

    def save(self, directory: Path) -> None:
        np.savez(directory / "encoder.npz", columns=self.columns, idf=self.idf, components=self.components)
        (directory / ENCODER_FILE).write_text(json.dumps({"kind": self.kind, "ngram_range": list(self.ngram_range),
                                                          "dim": self.dim}))

    @classmethod
    def load(cls, directory: Path, config: dict) -> NgramSvdEncoder:
        with np.load(directory / "encoder.npz", allow_pickle=False) as data:
            return cls(data["columns"], data["idf"], data["components"], tuple(config["ngram_range"]))


class TransformerEncoder:
    """Mean-pooled hidden states of a local Hugging Face encoder (a sentence-transformers model
    directory works); ``trust_remote_code`` stays off."""

    kind = "transformer"

    def __init__(self, path: str | Path, batch_size: int = 64, max_length: int = 256):
        from transformers import AutoModel, AutoTokenizer

        self.path = str(Path(path).resolve())
        if not Path(self.path).is_dir():
            raise QxError(f"encoder path {self.path} is not a directory holding a Hugging Face model")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self.model = AutoModel.from_pretrained(self.path, local_files_only=True).eval()
        except (OSError, ValueError) as exc:
            raise QxError(f"cannot load an encoder from {self.path}: {exc}") from None
        self.batch_size, self.max_length = batch_size, max_length
        self.dim = int(self.model.config.hidden_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(texts[start:start + self.batch_size], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().numpy())
        return _normalize(np.concatenate(out) if out else np.zeros((0, self.dim), np.float32))

    def save(self, directory: Path) -> None:
        (directory / ENCODER_FILE).write_text(json.dumps({"kind": self.kind, "path": self.path, "dim": self.dim}))

    @classmethod
    def load(cls, directory: Path, config: dict) -> TransformerEncoder:
        return cls(config["path"])


def load_encoder(directory: Path) -> Encoder:
    config = json.loads((directory / ENCODER_FILE).read_text())
    kinds = {NgramSvdEncoder.kind: NgramSvdEncoder, TransformerEncoder.kind: TransformerEncoder}
    if config.get("kind") not in kinds:
        raise QxError(f"{directory / ENCODER_FILE}: unknown encoder kind {config.get('kind')!r}")
    return kinds[config["kind"]].load(directory, config)
