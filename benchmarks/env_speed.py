"""Environment speed: steps/s per retrieval mode, the env's overhead over a bare search-system
call at the same k, and reset time, on a synthetic zh snapshot. Episodes have the env's default
budget (a new report, and its items taken down, every few steps, as in training); only steps are
timed as steps, resets apart.

    python -m benchmarks.env_speed --items 100000
"""

from __future__ import annotations

import gc
import inspect
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks._common import describe_run, parse_args


@dataclass
class Args:
    items: int = 100_000
    """Corpus size of the synthetic snapshot."""
    seed: int = 0
    """Corpus and episode seed."""
    steps: int = 300
    """Env steps timed per mode."""
    k: int = 100
    """Items exposed per query."""
    budget: int = 0
    """Queries per episode; 0: the env's default."""
    snapshot: str = ""
    """Default: snapshots/bench-zh-<items>."""
    modes: tuple[str, ...] = ("keyword", "embedding", "graph", "hybrid")
    """Retrieval modes stepped (only their indexes are built, e.g. keyword alone at 10M items)."""
    out: str = "reports/bench/env_speed.json"
    """Output JSON file."""


def _queries(snapshot, count: int) -> list[str]:
    phrases = [p for row in snapshot.reports.column("annotations").to_pylist() for p in row]
    return (phrases * (count // max(1, len(phrases)) + 1))[:count]


def main(args: Args) -> dict:
    from benchmarks._common import ensure_snapshot
    from qx_env.envs import ExploreEnv
    from qx_env.search import SearchSystem

    snapshot = ensure_snapshot(args.items, args.seed, args.snapshot, args.modes)
    queries = _queries(snapshot, args.steps)
    results: dict = {"items": len(snapshot), "k": args.k, "steps": len(queries), "modes": {}}
    budget = args.budget or inspect.signature(ExploreEnv).parameters["budget"].default
    results["budget"] = budget
    for mode in args.modes:
        system = SearchSystem(snapshot, modes=mode, k=args.k, candidates=args.k)
        env = ExploreEnv(snapshot, system=system, budget=budget, dynamics="static", split=["train", "dev", "test"])
        env.reset(seed=args.seed)
        for query in queries[:20]:  # warm-up
            system.search(query)
            if env.step(query)[2]:
                env.reset()
        env.reset(seed=args.seed)
        bare = env_time = 0.0
        resets = []
        for query in queries:  # interleaved, so machine noise hits both alike
            started = time.perf_counter()
            system.search(query)
            bare += time.perf_counter() - started
            started = time.perf_counter()
            done = env.step(query)[2]
            env_time += time.perf_counter() - started
            if done:
                started = time.perf_counter()
                env.reset()
                resets.append((time.perf_counter() - started) * 1000)
        while len(resets) < 5:  # a few at least, when the steps are fewer than five budgets
            started = time.perf_counter()
            env.reset()
            resets.append((time.perf_counter() - started) * 1000)
        results["modes"][mode] = {
            "env_steps_per_s": round(len(queries) / env_time, 1),
            "bare_search_per_s": round(len(queries) / bare, 1),
            "env_overhead": round(env_time / bare - 1, 3),
            "reset_ms_p50": round(float(np.percentile(resets, 50)), 3),
        }
        del env, system  # before the next mode's indexes load: at 10M items two HNSW copies do not fit
        gc.collect()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**results, **describe_run(args)}, indent=2))
    print(f"\n{'mode':<10}{'env steps/s':>12}{'bare q/s':>10}{'overhead':>10}{'reset ms':>10}")
    for mode, row in results["modes"].items():
        print(f"{mode:<10}{row['env_steps_per_s']:>12}{row['bare_search_per_s']:>10}{row['env_overhead']:>10.1%}"
              f"{row['reset_ms_p50']:>10}")
    print(f"\nwrote {out}")
    return results


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
