"""Embedding retrieval with faiss: inner product over normalised vectors (cosine similarity).

The encoder is chosen by kind (``encoder``: ``auto``, ``use``, ``e5``, ``ngram`` or a local model
directory; see :mod:`indexes._encoders`), and so is the relevance cut-off (``min_score``, unless
given). Pretrained encodings are kept in a store shared by every snapshot, keyed by the encoder
and each text (:mod:`indexes._encodings`; ``encodings_cache``, by default under the user's cache),
so a background encoded for one snapshot is not encoded again for the next. A flat index below
:data:`APPROXIMATE_ABOVE` items, HNSW above (overridable with ``kind``); on a GPU when faiss sees
one (flat indexes; HNSW stays on the CPU).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from tqdm.auto import tqdm

from indexes._base import Index
from indexes._encoders import Encoder, fit_and_encode, load_encoder
from indexes._encodings import default_root
from qx_env.errors import QxError
from qx_env.snapshot import Snapshot
from qx_env.types import Hits

KINDS = ("auto", "flat", "hnsw")
APPROXIMATE_ABOVE = 200_000
FAISS_FILE = "faiss.index"
#: HNSW graph degree, and the candidate list of a search. Recall@100 against exact search at 1M items
#: (qx bench scale's 1M snapshot, n-gram vectors; 400 search_speed queries): 0.915 at efSearch 128,
#: 0.951 at 256 (0.943 on 200 of them), 0.978 at 512, raw faiss 2,258 / 1,296 / 715 q/s on this 2-core
#: machine; on 4-character spans of items 0.953 / 0.972 / 0.984. 512: a simulator's embedding mode
#: should miss as few true neighbours as it can, and its env steps stay in the hundreds per second.
HNSW_M, HNSW_EF_SEARCH = 32, 512


def _reuse(cached: int, total: int) -> str:
    """How the encodings were made: ``cached``, ``encoded``, or ``cached N of M`` (the rest encoded)."""
    return "cached" if cached == total and total else "encoded" if not cached else f"cached {cached} of {total}"


def use_gpu() -> bool:
    import faiss

    return hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0


class EmbeddingIndex(Index):
    """A faiss index of item vectors and the encoder that made them."""

    mode: ClassVar[str] = "embedding"

    def __init__(self, snapshot: Snapshot, directory: Path, meta: dict[str, Any], encoder: Encoder, faiss_index,
                 min_score: float | None = None):
        super().__init__(snapshot, directory, meta)
        self.encoder = encoder
        self.faiss_index = faiss_index
        #: Hits below this cosine similarity are not retrieved (a relevance cut-off); by default
        #: the encoder kind's own (cosines mean different things per encoder).
        self.min_score = float(getattr(encoder, "min_score", 0.0) if min_score is None else min_score)

    @classmethod
    def _build(cls, snapshot: Snapshot, directory: Path, progress: bool, kind: str = "auto", dim: int = 128,
               encoder: str | None = None, batch_size: int = 20_000, seed: int = 0,
               encodings_cache: str | Path | None = None, **_: Any) -> dict:
        import faiss

        if kind not in KINDS:
            raise QxError(f"unknown embedding index kind {kind!r}; choose from {KINDS}")
        texts = snapshot.text_column  # read slice by slice: ten million texts as a list take 2.2 GiB
        cache = Path(encodings_cache).expanduser() if encodings_cache else default_root()
        model, reason, chunks, cached = fit_and_encode(encoder, texts, cache, dim=dim, seed=seed, progress=progress)
        if progress:
            tqdm.write(f"embedding: encoder {model.kind} ({reason}), cut-off {model.min_score}")
        chosen = kind if kind != "auto" else ("hnsw" if len(texts) > APPROXIMATE_ABOVE else "flat")
        index = faiss.IndexFlatIP(model.dim) if chosen == "flat" else faiss.IndexHNSWFlat(
            model.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        with tqdm(total=len(texts), desc="embedding: index", unit="item", disable=not progress) as bar:
            for vectors in chunks:  # added as they are encoded: the corpus's vectors are never held twice
                for start in range(0, len(vectors), batch_size):
                    batch = vectors[start:start + batch_size]
                    index.add(batch)
                    bar.update(len(batch))
        faiss.write_index(index, str(directory / FAISS_FILE))
        model.save(directory)
        return {"kind": chosen, "encoder": model.kind, "encoder_id": model.identity, "encoder_choice": reason,
                "min_score": model.min_score, "dim": model.dim, "encodings": _reuse(cached, len(texts))}

    @classmethod
    def _open(cls, snapshot: Snapshot, directory: Path, meta: dict, min_score: float | None = None,
              **_: Any) -> EmbeddingIndex:
        import faiss

        index = faiss.read_index(str(directory / FAISS_FILE))
        if index.ntotal != len(snapshot):
            raise QxError(f"the faiss index holds {index.ntotal} vectors, the snapshot {len(snapshot)} items")
        if meta["params"]["kind"] == "hnsw":
            index.hnsw.efSearch = HNSW_EF_SEARCH
        elif use_gpu():
            index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
        return cls(snapshot, directory, meta, load_encoder(directory), index, min_score=min_score)

    def nested(self, k: int) -> bool:
        """HNSW explores ``max(efSearch, n)`` candidates for ``n`` hits, so the top of a search is the same
        while ``n`` (up to twice ``k`` when removed items are over-fetched) stays within efSearch."""
        return not hasattr(self.faiss_index, "hnsw") or 2 * k <= self.faiss_index.hnsw.efSearch

    def vectors(self) -> np.ndarray:
        """All item vectors (reconstructed from the index)."""
        import faiss

        index = self.faiss_index
        if hasattr(faiss, "index_gpu_to_cpu") and not hasattr(index, "reconstruct_n"):
            index = faiss.index_gpu_to_cpu(index)
        return index.reconstruct_n(0, index.ntotal)

    def _hits(self, scores: np.ndarray, ids: np.ndarray) -> Hits:
        keep = (ids >= 0) & (scores >= self.min_score)
        return Hits(ids[keep].astype(np.int64), scores[keep].astype(np.float32))

    def _search(self, query: str, n: int) -> Hits:
        vector = self.encoder.encode_queries([query])
        if not vector.any():  # nothing the encoder knows (e.g. only emoji): no neighbours
            return Hits.empty()
        scores, ids = self.faiss_index.search(vector, n)
        return self._hits(scores[0], ids[0])

    def search_vectors(self, vectors: np.ndarray, n: int) -> list[Hits]:
        """Nearest items of each vector (used for near-duplicate edges and batches)."""
        scores, ids = self.faiss_index.search(np.ascontiguousarray(vectors, dtype=np.float32), n)
        return [self._hits(s, i) for s, i in zip(scores, ids)]

    def batch_search(self, queries, k: int = 100, alive: np.ndarray | None = None, threads: int = 2,
                     processes: int = 0) -> list[Hits]:
        """One encoder pass and one faiss call for all queries (faiss spreads it over the cores, so
        ``threads`` and ``processes`` are not needed); queries short of live hits after removals are
        searched again one by one."""
        from indexes._base import clean_query

        texts = [clean_query(q) for q in queries]
        present = [i for i, t in enumerate(texts) if t]
        results = [Hits.empty() for _ in texts]
        if not present:
            return results
        n = min(self.size, k if alive is None else k + int(self.size - np.count_nonzero(alive)))
        vectors = self.encoder.encode_queries([texts[i] for i in present])
        batch = self.search_vectors(vectors, n)
        for i, vector, hits in zip(present, vectors, batch):
            if not vector.any():
                continue
            live = hits if alive is None else hits.where(alive)
            results[i] = live.top(k) if len(live) >= k or len(hits) < n else self.search(texts[i], k, alive)
        return results
