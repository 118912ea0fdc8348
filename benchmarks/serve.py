"""Load on the retrieval server (``qx serve``): N concurrent clients on loopback for a bounded time,
each one rollout session (reset, then queries; a new episode every few queries), as RL trainers
drive a search tool. Reports queries/s, p50/p95/p99 latency seen by the clients, the error rate
and the server's own ``/stats``.

    python -m benchmarks.serve --clients 64 --seconds 20
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks._common import describe_run, parse_args, write_text_atomic


@dataclass
class Args:
    items: int = 20_000
    """Corpus size of the synthetic snapshot (made once when --snapshot is not given)."""
    seed: int = 0
    """Corpus and query seed."""
    clients: int = 64
    """Concurrent clients, each its own session."""
    seconds: float = 20.0
    """How long the clients send requests (after a short warm-up)."""
    warmup: float = 2.0
    """Seconds of load before measuring."""
    episode: int = 5
    """Queries per episode: each client resets its session after this many."""
    topk: int = 10
    """Documents requested per query."""
    modes: tuple[str, ...] = ("keyword",)
    """Retrieval modes of the server, comma-separated."""
    timeout: float = 30.0
    """Client timeout per request, in seconds (a timed-out request counts as an error)."""
    snapshot: str = ""
    """Default: snapshots/bench-serve-zh-<items>."""
    out: str = "reports/bench/serve.json"
    """Output JSON file."""


def _snapshot(args: Args):
    from qx_env import Snapshot
    from qx_env.corpus import SynthConfig, synthesize

    root = Path(args.snapshot or f"snapshots/bench-serve-zh-{args.items}")
    if not (root / "meta.json").is_file():
        synthesize(SynthConfig(items=args.items, seed=args.seed)).save(root, overwrite=True)
    return Snapshot.load(root)


def _queries(snapshot, seed: int, count: int = 2000) -> list[str]:
    """Report annotations and item risk phrases (queries a policy would send), plus benign words."""
    phrases = {p for row in snapshot.reports.column("annotations").to_pylist() for p in row}
    phrases |= {p for row in snapshot.items.column("risk_phrases").to_pylist() if row for p in row}
    words = {t[:4] for t in snapshot.texts[:2000]}
    pool = sorted(phrases | words)
    rng = np.random.default_rng(seed)
    return [pool[i] for i in rng.integers(0, len(pool), count)]


def _start_server(snapshot, args: Args) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "qx_env", "serve", str(snapshot.path), "--port", "0", "--modes", ",".join(args.modes),
               "--auto-sessions", "--build-missing", "--max-sessions", str(max(1024, 2 * args.clients))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    banner = process.stdout.readline()
    if " on http://" not in banner:
        process.kill()
        raise RuntimeError(f"qx serve did not start: {banner!r}")
    return process, banner.split(" on ", 1)[1].split()[0]


async def _client(client, index: int, queries: list[str], args: Args, start: float, end: float,
                  record: list) -> None:
    session = f"bench-{index}"
    headers = {"X-Session-Id": session}
    step = index
    while time.perf_counter() < end:
        if (step - index) % args.episode == 0:
            await client.post(f"/session/{session}/reset")
        query = queries[(step * 7919) % len(queries)]
        step += 1
        sent = time.perf_counter()
        try:
            response = await client.post("/retrieve", json={"query": query, "topk": args.topk}, headers=headers)
            ok = response.status_code == 200 and "result" in response.json()
        except Exception:  # noqa: BLE001 - a failed request is counted, whatever it was
            ok = False
        done = time.perf_counter()
        if sent >= start:
            record.append((done - sent, ok))


async def _load(url: str, queries: list[str], args: Args) -> tuple[list, float, dict]:
    import httpx

    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    record: list = []
    async with httpx.AsyncClient(base_url=url, timeout=args.timeout, limits=limits) as client:
        start = time.perf_counter() + args.warmup
        end = start + args.seconds
        await asyncio.gather(*(_client(client, i, queries, args, start, end, record) for i in range(args.clients)))
        measured = time.perf_counter() - start
        stats = (await client.get("/stats")).json()
    return record, measured, stats


def main(args: Args) -> dict:
    import httpx

    snapshot = _snapshot(args)
    queries = _queries(snapshot, args.seed)
    process, url = _start_server(snapshot, args)
    try:
        for _ in range(600):  # the first search may build the index
            try:
                if httpx.get(url + "/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        httpx.post(url + "/retrieve", json={"queries": queries[:20]}, timeout=600)
        record, measured, server = asyncio.run(_load(url, queries, args))
    finally:
        process.terminate()
        process.wait(timeout=30)
    latencies = np.array([seconds for seconds, _ in record]) * 1000
    errors = sum(1 for _, ok in record if not ok)
    p50, p95, p99 = (np.percentile(latencies, [50, 95, 99]) if len(latencies) else (0.0, 0.0, 0.0))
    result = {
        "run": describe_run(args), "items": len(snapshot), "clients": args.clients, "seconds": round(measured, 2),
        "requests": len(record), "queries_per_s": round(len(record) / measured, 1),
        "p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2), "p99_ms": round(float(p99), 2),
        "errors": errors, "error_rate": round(errors / len(record), 5) if record else 0.0,
        "server_stats": server,
    }
    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
    print(f"{args.clients} clients, {measured:.1f} s on {len(snapshot)} items ({','.join(args.modes)}): "
          f"{result['queries_per_s']} q/s, p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
          f"p99 {result['p99_ms']} ms, errors {errors}/{len(record)} ({result['error_rate']:.2%}); "
          f"server mean batch {server['mean_batch']}")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main(parse_args(Args, __doc__))
