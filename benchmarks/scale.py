"""Cost against corpus size: for each size, build time and disk per mode, load time, env steps/s per
mode, batch queries/s, reset time and peak memory, with the keyword and embedding figures also as a
ratio to the raw pyserini / faiss call measured in the same run; a table and a log-log plot.

Each size runs in two processes of its own: one makes the snapshot and builds its indexes (its peak
memory is the build's), the other loads and measures them (its peak memory is a running platform's).

    python -m benchmarks.scale --sizes 10000,100000 [--million]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from benchmarks._common import (
    describe_run,
    markdown_table,
    parse_args,
    pyplot,
    save_figure_atomic,
    write_text_atomic,
)

MODES = ("keyword", "embedding", "graph")


@dataclass
class Args:
    sizes: tuple[int, ...] = (10_000, 100_000)
    """Corpus sizes (items)."""
    million: bool = False
    """Also 1,000,000 items (about 20 minutes and several GiB here)."""
    seed: int = 0
    """Corpus seed."""
    queries: int = 200
    """Queries timed per mode and size."""
    steps: int = 200
    """Env steps timed per mode and size."""
    out: str = "reports/bench/scale"
    """Output directory: results.json, table, plot."""
    snapshots: str = "snapshots"
    """Where the bench-zh-<items> snapshots are made (once) and kept."""
    one_size: int = 0
    """Internal: measure this size in this process."""
    build_only: bool = False
    """Internal: with --one-size, only make the snapshot and its indexes (and record the peak memory)."""


def _peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def build_size(items: int, args: Args) -> dict:
    """Make the snapshot and whatever index it lacks in this process; its peak memory is the build's
    (kept from the run that built them when everything was there already; ``None`` when that run was
    not this benchmark's)."""
    from benchmarks._common import ensure_snapshot

    where = Path(args.snapshots) / f"bench-zh-{items}"
    record = Path(args.out) / f"items-{items}" / "build.json"
    missing = not (where / "meta.json").is_file() or any(
        not (where / "indexes" / m / "index.json").is_file() for m in MODES)
    snapshot = ensure_snapshot(items, args.seed, str(where))
    if missing or not record.is_file() or json.loads(record.read_text()).get("fingerprint") != snapshot.fingerprint:
        peak = _peak_rss_mib() if missing else None
        write_text_atomic(record, json.dumps({"fingerprint": snapshot.fingerprint, "peak_rss_mib": peak}))
    return json.loads(record.read_text())


def measure_size(items: int, args: Args) -> dict:
    """Every figure of one corpus size (whose snapshot and indexes exist), measured in this process."""
    from benchmarks import env_speed, search_speed
    from qx_env.search import SearchSystem
    from qx_env.snapshot import Snapshot

    work = Path(args.out) / f"items-{items}"
    where = str(Path(args.snapshots) / f"bench-zh-{items}")
    Snapshot.load(where)  # an untimed first read: the load timed below is that of a warm file cache
    started = time.perf_counter()
    SearchSystem(Snapshot.load(where), modes="hybrid", build=False)
    load_seconds = time.perf_counter() - started
    speed = search_speed.main(search_speed.Args(items=items, seed=args.seed, queries=args.queries,
                                                snapshot=where, out=str(work / "search_speed.json")))
    env = env_speed.main(env_speed.Args(items=items, seed=args.seed, steps=args.steps, snapshot=where,
                                        out=str(work / "env_speed.json")))
    return {
        "items": items, "load_s": round(load_seconds, 2),
        "build_s": {m: speed["build"][m]["seconds"] for m in MODES},
        "disk_mib": {m: speed["build"][m]["mib"] for m in MODES},
        "env_steps_per_s": {m: row["env_steps_per_s"] for m, row in env["modes"].items()},
        "reset_ms": env["modes"]["keyword"]["reset_ms_p50"],
        "keyword_qps": speed["keyword"]["ours_bm25_qps"], "keyword_ratio_to_pyserini": speed["keyword"]["ratio"],
        "pyserini_qps": speed["keyword"]["raw_pyserini_qps"],
        "batch_qps": speed["keyword"]["ours_batch_2_processes_qps"],
        "embedding_qps": speed["embedding"]["ours_qps"], "raw_faiss_qps": speed["embedding"]["raw_faiss_qps"],
        "embedding_ratio_to_faiss": round(speed["embedding"]["ours_qps"] / speed["embedding"]["raw_faiss_qps"], 2),
        "embedding_recall_at_100": speed["embedding"]["recall_at_100"],
        "graph_p50_ms": speed["graph"]["search_p50_ms"],
        "build_peak_rss_mib": json.loads((work / "build.json").read_text())["peak_rss_mib"],
        "peak_rss_mib": _peak_rss_mib(),
    }


def run_size(items: int, args: Args) -> dict:
    """:func:`build_size`, then :func:`measure_size`, each in a fresh process; the result file is read back."""
    result = Path(args.out) / f"items-{items}" / "scale.json"
    command = [sys.executable, "-m", "benchmarks.scale", "--one-size", str(items), "--seed", str(args.seed),
               "--queries", str(args.queries), "--steps", str(args.steps), "--out", args.out, "--snapshots", args.snapshots]
    subprocess.run([*command, "--build-only"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(result.read_text())


def table(rows: list[dict]) -> str:
    header = ["items", "build s (kw/emb/graph)", "disk MiB (kw/emb/graph)", "load s",
              "env steps/s (kw/emb/graph/hybrid)", "reset ms", "keyword q/s (x pyserini)", "batch q/s",
              "embedding q/s (x faiss)", "emb. recall@100", "graph p50 ms", "peak MiB (build/run)"]
    slash = "/".join
    return markdown_table(header, [[
        f"{r['items']:,}", slash(str(r["build_s"][m]) for m in MODES), slash(str(r["disk_mib"][m]) for m in MODES),
        r["load_s"], slash(str(v) for v in r["env_steps_per_s"].values()), r["reset_ms"],
        f"{r['keyword_qps']} (x{r['keyword_ratio_to_pyserini']})", r["batch_qps"],
        f"{r['embedding_qps']} (x{r['embedding_ratio_to_faiss']})", r["embedding_recall_at_100"], r["graph_p50_ms"],
        f"{r['build_peak_rss_mib']}/{r['peak_rss_mib']}",
    ] for r in rows])


#: The issue's goals at 1M items, drawn as reference lines (milliseconds of one call).
GOAL_MS = {"keyword env step (1,000/s)": 1.0, "hybrid env step (100/s) and graph p50": 10.0}


def plot(rows: list[dict], path: Path, args: Args) -> Path:
    """Log-log against items: build, load and env-step seconds; one search against the raw library
    measured in the same run (pyserini, faiss) and the goals; peak memory of the build and the run."""
    plt = pyplot()
    items = [r["items"] for r in rows]
    figure, (time_axis, search_axis, memory_axis) = plt.subplots(1, 3, figsize=(15, 4.2))
    for mode in MODES:
        time_axis.plot(items, [r["build_s"][mode] for r in rows], "o-", label=f"build {mode}")
    for mode in (*MODES, "hybrid"):
        time_axis.plot(items, [1 / r["env_steps_per_s"][mode] for r in rows], "s--", label=f"env step {mode}")
    time_axis.plot(items, [r["load_s"] for r in rows], "^-", label="load all indexes")
    search_axis.plot(items, [1000 / r["keyword_qps"] for r in rows], "o-", label="keyword bm25 (ours)")
    search_axis.plot(items, [1000 / r["pyserini_qps"] for r in rows], "o:", color="grey",
                     label="pyserini LuceneSearcher.search (same run)")
    search_axis.plot(items, [1000 / r["embedding_qps"] for r in rows], "s-", label="embedding (ours, encode + search)")
    search_axis.plot(items, [1000 / r["raw_faiss_qps"] for r in rows], "s:", color="black",
                     label="raw faiss search (same run)")
    search_axis.plot(items, [r["graph_p50_ms"] for r in rows], "^-", label="graph p50 (ours)")
    for (label, ms), style in zip(GOAL_MS.items(), ("-.", "--")):
        search_axis.axhline(ms, color="red", linestyle=style, linewidth=0.8, label=f"goal: {label}")
    memory_axis.plot(items, [r["build_peak_rss_mib"] or float("nan") for r in rows], "o-",
                     label="peak RSS building (MiB)")
    memory_axis.plot(items, [r["peak_rss_mib"] for r in rows], "^-", label="peak RSS measuring (MiB)")
    memory_axis.plot(items, [sum(r["disk_mib"].values()) for r in rows], "s--", label="index disk (MiB)")
    memory_axis.axhline(6 * 1024, color="red", linestyle="--", linewidth=0.8, label="goal: build peak 6 GiB")
    for axis, label in ((time_axis, "seconds"), (search_axis, "milliseconds per query"), (memory_axis, "MiB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("items")
        axis.set_ylabel(label)
        axis.legend(fontsize=6)
    time_axis.set_title("build, load and one env step")
    search_axis.set_title("one search (keyword and embedding k=1000, graph k=100)")
    memory_axis.set_title("peak memory and index size")
    figure.suptitle(f"Cost against corpus size: synthetic zh marketplace, seed {args.seed}, "
                    f"{args.queries} queries and {args.steps} env steps per mode and size", fontsize=10)
    figure.tight_layout()
    return save_figure_atomic(figure, path)


def main(args: Args) -> dict:
    out = Path(args.out)
    if args.one_size and args.build_only:
        return build_size(args.one_size, args)
    if args.one_size:
        result = measure_size(args.one_size, args)
        write_text_atomic(out / f"items-{args.one_size}" / "scale.json", json.dumps(result, indent=2))
        return result
    sizes = [*args.sizes, *([1_000_000] if args.million else [])]
    rows = [run_size(items, args) for items in tqdm(sizes, desc="corpus sizes")]
    text = table(rows)
    write_text_atomic(out / "results.json", json.dumps({"rows": rows, **describe_run(args)}, indent=2))
    write_text_atomic(out / "table.md", text + "\n")
    plot(rows, out / "scale.png", args)
    print(text)
    print(f"\nwrote {out / 'results.json'}, {out / 'table.md'} and {out / 'scale.png'}")
    return {"rows": rows}


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
