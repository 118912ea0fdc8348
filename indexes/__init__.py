"""Retrieval indexes over a snapshot: keyword (pyserini/Lucene), embedding (faiss), graph (networkx),
and their fusion. Every index is built into ``DIR/indexes/<mode>/`` and opened from there."""

from __future__ import annotations

from indexes._base import MAX_QUERY_CHARS, Index, clean_query, has_content
from indexes._embedding import EmbeddingIndex
from indexes._encoders import NgramSvdEncoder, TransformerEncoder
from indexes._fusion import reciprocal_rank_fusion
from indexes._graph import GraphIndex, contact_handles
from indexes._keyword import KeywordIndex

#: Retrieval modes in build order (the graph uses the embedding vectors and both as seeders).
INDEXES: dict[str, type[Index]] = {cls.mode: cls for cls in (KeywordIndex, EmbeddingIndex, GraphIndex)}
MODES = tuple(INDEXES)

__all__ = [
    "INDEXES", "MAX_QUERY_CHARS", "MODES", "EmbeddingIndex", "GraphIndex", "Index", "KeywordIndex",
    "NgramSvdEncoder", "TransformerEncoder", "build_indexes", "clean_query", "contact_handles", "has_content",
    "index_class", "reciprocal_rank_fusion",
]


def index_class(mode: str) -> type[Index]:
    from qx_env.errors import QxError

    if mode not in INDEXES:
        raise QxError(f"unknown retrieval mode {mode!r}; choose from {', '.join(MODES)}")
    return INDEXES[mode]


def build_indexes(snapshot, modes=MODES, progress: bool = True, **options) -> dict[str, Index]:
    """Build the given modes in dependency order; the graph reuses the embedding vectors."""
    for mode in modes:
        index_class(mode)
    built: dict[str, Index] = {}
    for mode in MODES:
        if mode not in modes:
            continue
        extra = dict(options.get(mode, {}))
        if mode == "graph" and "embedding" in built:
            extra.setdefault("vectors", built["embedding"].vectors())
        built[mode] = index_class(mode).build(snapshot, progress=progress, **extra)
    return built
