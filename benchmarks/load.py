"""Load: ``qx_env/Explore-v0`` in gymnasium's ``AsyncVectorEnv`` workers for many steps; env steps/s,
and the memory (RSS) of the main process and of every worker sampled over the run, with a plot.

    python -m benchmarks.load --steps 100000 --workers 8
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks._common import describe_run, parse_args, pyplot, save_figure_atomic, write_text_atomic

MIB = 2**20


@dataclass
class Args:
    steps: int = 100_000
    """Env steps in all; each vector step is one step of every worker."""
    workers: int = 8
    """Async worker processes, one environment each."""
    items: int = 20_000
    """Synthetic items of the default snapshot."""
    seed: int = 0
    """Seed of the snapshot, the resets and the query workload."""
    mode: str = "keyword"
    """Retrieval mode: keyword, embedding, graph or hybrid."""
    k: int = 100
    """Items exposed per query."""
    budget: int = 5
    """Queries per episode."""
    dynamics: str = "removal"
    """static, removal or delayed."""
    samples: int = 100
    """Memory samples over the run."""
    snapshot: str = ""
    """Snapshot directory; default: snapshots/bench-zh-<items>."""
    out: str = "reports/bench/load"
    """Output directory: load.json, memory.png."""


def make_env(snapshot: str, **options):
    """One environment, made inside a worker process (a picklable factory: snapshot path, options)."""
    import gymnasium as gym

    from qx_env.envs import ENV_ID

    return gym.make(ENV_ID, snapshot=snapshot, **options)


def vector_env(snapshot: str, workers: int, **options):
    """``workers`` environments in spawned worker processes (spawn: a JVM does not survive a fork)."""
    import gymnasium as gym

    factory = partial(make_env, snapshot, **options)
    return gym.vector.AsyncVectorEnv([factory] * workers, shared_memory=False, context="spawn")


def rss_bytes(pid: int) -> int:
    """Resident memory of a process: psutil when installed, else ``/proc/<pid>/statm``."""
    try:
        import psutil
    except ImportError:
        resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    return psutil.Process(pid).memory_info().rss


def workload(snapshot, seed: int, size: int = 4096) -> list[str]:
    """Queries the workers step with: the auditors' phrases (70%) and random 2-6 character pieces of
    report texts."""
    phrases = [p for row in snapshot.reports.column("annotations").to_pylist() for p in row]
    texts = snapshot.report_texts()
    rng = np.random.default_rng(seed)
    queries = []
    for _ in range(size):
        if phrases and rng.random() < 0.7:
            queries.append(phrases[rng.integers(len(phrases))])
        else:
            text = texts[rng.integers(len(texts))]
            start = int(rng.integers(max(1, len(text) - 6)))
            queries.append(text[start:start + int(rng.integers(2, 7))])
    return queries


def main(args: Args) -> dict:
    from benchmarks._common import ensure_snapshot

    snapshot = ensure_snapshot(args.items, args.seed, args.snapshot)
    queries = workload(snapshot, args.seed)
    started = time.perf_counter()
    envs = vector_env(str(snapshot.path), args.workers, modes=args.mode, k=args.k, budget=args.budget,
                      dynamics=args.dynamics, split=["train", "dev", "test"])
    try:
        envs.reset(seed=args.seed)
        startup = time.perf_counter() - started
        pids = {"main": os.getpid(), **{f"worker {i}": p.pid for i, p in enumerate(envs.processes)}}
        vector_steps = max(1, -(-args.steps // args.workers))
        every = max(1, vector_steps // args.samples)
        samples, episodes = [], 0
        started = time.perf_counter()
        for step in range(vector_steps):
            actions = tuple(queries[(step * args.workers + w) % len(queries)] for w in range(args.workers))
            _, _, terminated, truncated, _ = envs.step(actions)
            episodes += int(np.count_nonzero(terminated | truncated))
            if step % every == 0 or step == vector_steps - 1:
                samples.append({"env_steps": (step + 1) * args.workers, "seconds": time.perf_counter() - started,
                                "rss_mib": {name: rss_bytes(pid) / MIB for name, pid in pids.items()}})
        elapsed = time.perf_counter() - started
    finally:
        envs.close()
    results = {"env_steps": vector_steps * args.workers, "episodes": episodes, "startup_s": round(startup, 1),
               "seconds": round(elapsed, 1), "env_steps_per_s": round(vector_steps * args.workers / elapsed, 1),
               "memory": memory_summary(samples), "samples": samples}
    out = Path(args.out)
    write_text_atomic(out / "load.json", json.dumps({**results, **describe_run(args)}, indent=2))
    plot_memory(samples, out / "memory.png", f"{args.workers} async workers, {args.mode}, {len(snapshot):,} items")
    memory = results["memory"]
    print(f"{results['env_steps']:,} env steps ({episodes:,} episodes) in {elapsed:.1f} s: "
          f"{results['env_steps_per_s']:,} env steps/s with {args.workers} workers (start-up {startup:.1f} s)")
    main_mib, worker_mib = (" / ".join(f"{v:.0f}" for v in memory[key]) for key in ("main_mib", "worker_mean_mib"))
    print(f"RSS at start / half-way / end: main {main_mib} MiB, workers {worker_mib} MiB each (mean); "
          f"largest growth of one process over the second half: {memory['max_second_half_growth_mib']} MiB")
    print(f"wrote {out / 'load.json'} and {out / 'memory.png'}")
    return results


def memory_summary(samples: list[dict]) -> dict:
    """RSS of every process at the start, half-way and at the end of the run, and how much each grew
    over the second half (once the JVMs' heaps have settled)."""
    first, half, last = (samples[i]["rss_mib"] for i in (0, len(samples) // 2, -1))
    workers = [name for name in last if name != "main"]
    return {
        "main_mib": [round(s["main"], 1) for s in (first, half, last)],
        "worker_mean_mib": [round(float(np.mean([s[w] for w in workers])), 1) for s in (first, half, last)],
        "second_half_growth_mib": {name: round(last[name] - half[name], 1) for name in last},
        "max_second_half_growth_mib": round(max(last[name] - half[name] for name in last), 1),
    }


def plot_memory(samples: list[dict], path: Path, title: str) -> Path:
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(8, 4.5))
    steps = [s["env_steps"] for s in samples]
    for name in samples[0]["rss_mib"]:
        axis.plot(steps, [s["rss_mib"][name] for s in samples], label=name, linewidth=2 if name == "main" else 1)
    axis.set_xlabel("env steps (all workers)")
    axis.set_ylabel("RSS (MiB)")
    axis.set_ylim(bottom=0)
    axis.set_title(f"Memory over the run: {title}")
    axis.legend(fontsize=7, ncol=3)
    figure.tight_layout()
    return save_figure_atomic(figure, path)


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
