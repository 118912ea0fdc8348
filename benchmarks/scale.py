"""Cost against corpus size: for each size, build time and disk per mode, load time, env steps/s per
mode, batch queries/s, reset time and peak memory, with the keyword and embedding figures also as a
ratio to the raw pyserini / faiss call measured in the same run; a table and a log-log plot.

Each size runs in its own process, so its peak memory (and its JVM) are its own.

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


def measure_size(items: int, args: Args) -> dict:
    """Every figure of one corpus size, measured in this process."""
    from benchmarks import env_speed, search_speed
    from benchmarks._common import ensure_snapshot
    from qx_env.search import SearchSystem
    from qx_env.snapshot import Snapshot

    work = Path(args.out) / f"items-{items}"
    where = str(Path(args.snapshots) / f"bench-zh-{items}")
    snapshot = ensure_snapshot(items, args.seed, where)
    started = time.perf_counter()
    SearchSystem(Snapshot.load(snapshot.path), modes="hybrid", build=False)
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
        "batch_qps": speed["keyword"]["ours_batch_2_processes_qps"],
        "embedding_qps": speed["embedding"]["ours_qps"],
        "embedding_ratio_to_faiss": round(speed["embedding"]["ours_qps"] / speed["embedding"]["raw_faiss_qps"], 2),
        "embedding_recall_at_100": speed["embedding"]["recall_at_100"],
        "graph_p50_ms": speed["graph"]["search_p50_ms"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_size(items: int, args: Args) -> dict:
    """:func:`measure_size` in a fresh process; its result file is read back."""
    result = Path(args.out) / f"items-{items}" / "scale.json"
    command = [sys.executable, "-m", "benchmarks.scale", "--one-size", str(items), "--seed", str(args.seed),
               "--queries", str(args.queries), "--steps", str(args.steps), "--out", args.out, "--snapshots", args.snapshots]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(result.read_text())


def table(rows: list[dict]) -> str:
    header = ["items", "build s (kw/emb/graph)", "disk MiB (kw/emb/graph)", "load s",
              "env steps/s (kw/emb/graph/hybrid)", "reset ms", "keyword q/s (x pyserini)", "batch q/s",
              "embedding q/s (x faiss)", "emb. recall@100", "graph p50 ms", "peak MiB"]
    slash = "/".join
    return markdown_table(header, [[
        f"{r['items']:,}", slash(str(r["build_s"][m]) for m in MODES), slash(str(r["disk_mib"][m]) for m in MODES),
        r["load_s"], slash(str(v) for v in r["env_steps_per_s"].values()), r["reset_ms"],
        f"{r['keyword_qps']} (x{r['keyword_ratio_to_pyserini']})", r["batch_qps"],
        f"{r['embedding_qps']} (x{r['embedding_ratio_to_faiss']})", r["embedding_recall_at_100"], r["graph_p50_ms"],
        r["peak_rss_mib"],
    ] for r in rows])


def plot(rows: list[dict], path: Path, args: Args) -> Path:
    """Log-log: seconds (build, load, one env step per mode) and peak memory against items."""
    plt = pyplot()
    items = [r["items"] for r in rows]
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for mode in MODES:
        time_axis.plot(items, [r["build_s"][mode] for r in rows], "o-", label=f"build {mode}")
        time_axis.plot(items, [1 / r["env_steps_per_s"][mode] for r in rows], "s--", label=f"env step {mode}")
    time_axis.plot(items, [r["load_s"] for r in rows], "^-", label="load all indexes")
    memory_axis.plot(items, [r["peak_rss_mib"] for r in rows], "o-", label="peak RSS (MiB)")
    memory_axis.plot(items, [sum(r["disk_mib"].values()) for r in rows], "s--", label="index disk (MiB)")
    for axis, label in ((time_axis, "seconds"), (memory_axis, "MiB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("items")
        axis.set_ylabel(label)
        axis.legend(fontsize=7)
    time_axis.set_title("build, load and one env step")
    memory_axis.set_title("peak memory and index size")
    figure.suptitle(f"Cost against corpus size: synthetic zh marketplace, seed {args.seed}, "
                    f"{args.queries} queries and {args.steps} env steps per mode and size", fontsize=10)
    figure.tight_layout()
    return save_figure_atomic(figure, path)


def main(args: Args) -> dict:
    out = Path(args.out)
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
