"""Hybrid retrieval: reciprocal rank fusion of several modes, each hit attributed to its modes."""

from __future__ import annotations

import numpy as np

from qx_env.types import MODE_BITS, Hits

#: The k of reciprocal rank fusion, ``1 / (k + rank)``: 60, as in Cormack, Clarke and Buettcher
#: (SIGIR 2009), where it was chosen on TREC runs and is the common default since.
RRF_K = 60


def reciprocal_rank_fusion(results: dict[str, Hits], n: int, rrf_k: int = RRF_K) -> Hits:
    """Fuse ranked lists by ``sum 1 / (rrf_k + rank)``; ``modes`` marks which lists held each hit."""
    lists = [(mode, hits) for mode, hits in results.items() if len(hits)]
    if not lists:
        return Hits.empty()
    positions = np.concatenate([hits.positions for _, hits in lists])
    scores = np.concatenate([1.0 / (rrf_k + np.arange(1, len(hits) + 1)) for _, hits in lists])
    bits = np.concatenate([np.full(len(hits), MODE_BITS[mode], np.uint8) for mode, hits in lists])
    unique, inverse = np.unique(positions, return_inverse=True)
    fused = np.zeros(len(unique))
    np.add.at(fused, inverse, scores)
    modes = np.zeros(len(unique), np.uint8)
    np.bitwise_or.at(modes, inverse, bits)
    order = np.lexsort((unique, -fused))[:n]
    return Hits(unique[order].astype(np.int64), fused[order].astype(np.float32), modes[order])
