"""``qx index build`` and ``qx search``: build retrieval indexes and query the search system."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from qx_env.flags import comma_list
from qx_env.snapshot import Snapshot


def add_build_missing(parser: argparse.ArgumentParser) -> None:
    """``--build-missing``: the flag of every command that searches (see :func:`indexes.ensure_indexes`)."""
    parser.add_argument("--build-missing", action="store_true",
                        help="build the indexes the modes need that are missing, damaged or built for another "
                             "snapshot (with a warning each) instead of refusing")


def add_system_flags(parser: argparse.ArgumentParser) -> None:
    """The search system's flags, the same on every command that searches (:meth:`SearchSettings.add_flags`),
    and ``--build-missing``."""
    from qx_env.search import SearchSettings

    SearchSettings.add_flags(parser)
    add_build_missing(parser)


def register(tools: argparse._SubParsersAction) -> None:
    index = tools.add_parser("index", help="build retrieval indexes of a snapshot")
    commands = index.add_subparsers(dest="command", metavar="COMMAND", required=True)
    build = commands.add_parser("build", help="build indexes into DIR/indexes/<mode>/")
    build.add_argument("snapshot", type=Path, help="snapshot directory; indexes go to DIR/indexes/<mode>/")
    build.add_argument("--modes", type=comma_list, default=("keyword", "embedding", "graph"),
                       help="comma-separated modes to (re)build: keyword, embedding, graph, or hybrid for all")
    build.add_argument("--embedding-kind", choices=("auto", "flat", "hnsw"), default="auto",
                       help="faiss index of the embedding mode: auto is exact (flat) up to 200,000 items, "
                            "hnsw above")
    build.add_argument("--encoder", default="auto", metavar="KIND",
                       help="embedding encoder: auto (the pretrained multilingual use encoder up to "
                            "300k items, n-gram above), use, e5 (x86-64), ngram (fitted on the snapshot), "
                            "or a local Hugging Face model directory")
    build.add_argument("--encodings-cache", type=Path, default=None, metavar="DIR",
                       help="store of pretrained encodings shared by every snapshot, keyed by encoder and text "
                            "(a background encoded once is reused); default $QX_ENCODINGS_CACHE, else "
                            "~/.cache/qx-env/encodings (under $QX_CACHE_DIR or $XDG_CACHE_HOME when set)")
    build.add_argument("--quiet", action="store_true", help="no progress bars")
    build.set_defaults(run=run_build)

    search = tools.add_parser("search", help="search a snapshot through the simulated search system")
    search.add_argument("snapshot", type=Path, help="snapshot directory")
    search.add_argument("queries", nargs="+", metavar="QUERY", help="queries to run, one result list each")
    add_system_flags(search)
    search.add_argument("--show", type=int, default=10, help="rows printed per query")
    search.add_argument("--show-labels", action="store_true", help="print the hidden labels too")
    search.set_defaults(run=run_search)


def run_build(args: argparse.Namespace) -> int:
    from indexes import build_indexes, resolve_modes

    modes = resolve_modes(args.modes)
    snapshot = Snapshot.load(args.snapshot)
    options = {"embedding": {"kind": args.embedding_kind, "encoder": args.encoder,
                             "encodings_cache": args.encodings_cache}}
    started = time.perf_counter()
    built = build_indexes(snapshot, modes=modes, progress=not args.quiet, **options)
    print(f"{'mode':<10}{'build s':>9}{'MiB':>9}  params")
    for mode, index in built.items():
        meta = index.meta
        print(f"{mode:<10}{meta['build_seconds']:>9.1f}{meta['bytes'] / 2**20:>9.1f}  {meta['params']}")
    print(f"built {', '.join(built)} in {time.perf_counter() - started:.1f} s under {snapshot.path / 'indexes'}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    from qx_env.search import SearchSettings

    snapshot = Snapshot.load(args.snapshot)
    system = SearchSettings.from_flags(args).system(snapshot, progress=True)
    texts, labels = snapshot.texts, snapshot.labels
    for query in args.queries:
        hits = system.search(query)
        toxic = int(labels[hits.positions].sum()) if len(hits) else 0
        summary = f"{len(hits)} exposed" + (f", {toxic} toxic" if args.show_labels else "")
        print(f"\nquery {query!r}: {summary}")
        for rank in range(min(args.show, len(hits))):
            position = int(hits.positions[rank])
            label = f"{labels[position]}  " if args.show_labels else ""
            modes = "+".join(hits.mode_names(rank))
            text = texts[position].replace("\n", " ")
            print(f"{rank + 1:>4}  {snapshot.ids[position]}  {hits.scores[rank]:8.4f}  {modes:<24}{label}{text[:90]}")
    return 0
