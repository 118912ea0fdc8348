"""Retrieval indexes over a snapshot: keyword (pyserini/Lucene), embedding (faiss), graph (networkx),
and their fusion. Every index is built into ``DIR/indexes/<mode>/`` and opened from there.

Also public: the embedding index's text encoders (``make_encoder`` picks and fits one by kind,
``encode_cached`` encodes through the vector cache, ``UseEncoder`` is the pretrained multilingual
one), the keyword match ``RULES``, the graph's MinHash near-duplicate rule (``near_duplicates``),
and ``start_jvm`` (the JVM with Anserini, once per process)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from indexes._base import (
    MAX_QUERY_CHARS,
    Index,
    UnusableIndex,
    clean_query,
    has_content,
    index_directory,
    rebuild_command,
)
from indexes._embedding import EmbeddingIndex
from indexes._encoders import NgramSvdEncoder, TransformerEncoder, UseEncoder, encode_cached, make_encoder
from indexes._fusion import reciprocal_rank_fusion
from indexes._graph import HANDLE_PATTERN, GraphIndex, contact_handles
from indexes._java import start_jvm  # the JVM starts when asked, never on import
from indexes._keyword import RULES, KeywordIndex  # RULES: the keyword match rules (exact, bm25)
from indexes._lock import build_lock
from indexes._minhash import (  # the item graph's near-duplicate rule
    NEAR_DUPLICATE_JACCARD,
    minhash_signatures,
    near_duplicate_pairs,
    near_duplicates,
)

#: Retrieval modes in build order (the graph searches from the other two's hits).
INDEXES: dict[str, type[Index]] = {cls.mode: cls for cls in (KeywordIndex, EmbeddingIndex, GraphIndex)}
MODES = tuple(INDEXES)
#: The name that means every mode, fused.
HYBRID = "hybrid"

__all__ = [
    "GRAPH_SEEDERS", "HANDLE_PATTERN", "HYBRID", "INDEXES", "MAX_QUERY_CHARS", "MODES", "NEAR_DUPLICATE_JACCARD",
    "RULES", "EmbeddingIndex", "GraphIndex", "Index", "KeywordIndex", "NgramSvdEncoder", "TransformerEncoder",
    "UnusableIndex", "UseEncoder", "build_indexes", "build_lock", "clean_query", "contact_handles",
    "encode_cached", "ensure_indexes", "has_content", "index_class", "make_encoder", "minhash_signatures",
    "near_duplicate_pairs", "near_duplicates", "reciprocal_rank_fusion", "required_modes", "resolve_modes",
    "start_jvm",
]


def _unknown(mode: object):
    from qx_env.errors import QxError

    return QxError(f"unknown retrieval mode {mode!r}; choose from {', '.join((*MODES, HYBRID))}")


def index_class(mode: str) -> type[Index]:
    """The index class of one mode."""
    if mode not in INDEXES:
        raise _unknown(mode)
    return INDEXES[mode]


def resolve_modes(modes: str | Sequence[str]) -> tuple[str, ...]:
    """Mode names in build order (names, or one string of comma-separated names:
    :func:`qx_env.flags.name_list`); ``"hybrid"`` means every mode. Unknown names are refused with
    every accepted one."""
    from qx_env.errors import QxError
    from qx_env.flags import name_list

    names = name_list(modes)
    if HYBRID in names:
        return MODES
    if not names:
        raise QxError(f"give at least one retrieval mode: {', '.join((*MODES, HYBRID))}")
    for name in names:
        index_class(name)
    return tuple(m for m in MODES if m in names)


#: The one place of the indexes' dependencies (MODES is their build order): the graph is built from
#: the texts alone (sellers, handles, MinHash near-duplicates) and searches from the seeds these find.
GRAPH_SEEDERS = ("keyword", "embedding")


def required_modes(modes: str | Sequence[str]) -> tuple[str, ...]:
    """The indexes ``modes`` search with: the graph also needs its seeders (:data:`GRAPH_SEEDERS`)."""
    resolved = set(resolve_modes(modes))
    if "graph" in resolved:
        resolved |= set(GRAPH_SEEDERS)
    return tuple(m for m in MODES if m in resolved)


def _open_options(mode: str, ready: Mapping[str, Index], options: Mapping[str, Any]) -> dict[str, Any]:
    """What opening ``mode`` takes from the indexes already open: the graph, its seeders."""
    extra = dict(options)
    if mode == "graph" and all(m in ready for m in GRAPH_SEEDERS):
        extra.setdefault("seeders", [ready[m] for m in GRAPH_SEEDERS])
    return extra


def ensure_indexes(snapshot, modes: str | Sequence[str], build: bool = False, progress: bool = False,
                   options: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Index]:
    """The indexes ``modes`` need (see :func:`required_modes`), opened with ``options[mode]``: the
    one rule of every caller (:class:`~qx_env.search.SearchSystem`, ``qx search``, ``qx eval``,
    ``qx play``, ``qx bench modes``).

    An index that is missing, damaged or built for another snapshot is (re)built in place only when
    ``build`` is true, each with a warning that names what was wrong, under the snapshot's build lock
    (an index another process finished building meanwhile is used, not built again). Otherwise one
    :class:`~qx_env.errors.IndexDataError` names every such index and the one command that builds them.
    """
    from qx_env.errors import IndexDataError

    needed = required_modes(modes)
    options = options or {}
    opened: dict[str, Index] = {}
    problems: dict[str, UnusableIndex] = {}

    def open_index(mode: str) -> Index:
        return INDEXES[mode].open(snapshot, **_open_options(mode, opened, options.get(mode, {})))

    for mode in needed:
        try:
            opened[mode] = open_index(mode)
        except UnusableIndex as exc:
            problems[mode] = exc
    if not problems:
        return opened
    if not build:
        them = "it" if len(problems) == 1 else "them"
        verb = "build" if all(p.missing for p in problems.values()) else "rebuild"
        raise IndexDataError(f"{'; '.join(p.problem for p in problems.values())}; {verb} {them} with "
                             f"{rebuild_command(snapshot, list(problems))}, or rerun with --build-missing "
                             "(build=True in Python)")
    with build_lock(index_directory(snapshot, needed[0]).parent):
        for mode in needed:
            if mode in problems:
                try:  # another process may have built it while this one waited for the lock
                    opened[mode] = open_index(mode)
                    continue
                except UnusableIndex as exc:
                    problem = exc
                action = "building the missing" if problem.missing else "rebuilding the"
                warnings.warn(f"{action} {mode} index of {snapshot.path}: {problem.problem}", stacklevel=2)
                INDEXES[mode].build(snapshot, progress=progress)
                opened[mode] = open_index(mode)
            elif mode == "graph" and problems.keys() & set(GRAPH_SEEDERS):
                opened[mode] = open_index(mode)  # opened before its seeders were there
    return opened


def build_indexes(snapshot, modes=MODES, progress: bool = True, **options) -> dict[str, Index]:
    """Build the given modes in dependency order (whatever is there is replaced), under the
    snapshot's build lock; ``options[mode]`` are that index's build options."""
    modes = resolve_modes(modes) if modes else ()
    built: dict[str, Index] = {}
    if not modes:
        return built
    with build_lock(index_directory(snapshot, modes[0]).parent):
        for mode in modes:
            built[mode] = index_class(mode).build(snapshot, progress=progress, **options.get(mode, {}))
    return built
