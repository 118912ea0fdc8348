"""Load on the retrieval server (``qx serve``): N concurrent clients on loopback for a bounded time, as RL
trainers drive a search tool, one run after another against the same server process:

- ``qx``: this benchmark's load generator, kept cheap so that it is not what limits the figure:
  keep-alive HTTP/1.1 on asyncio, one connection per client, each answer's JSON parsed and checked,
  the clients spread over ``--processes`` processes; it sends verl's body
  ``{"queries": [q], "topk": k, "return_scores": true}`` with no session;
- ``verl``: verl's own ``call_search_api`` (verl/tools/utils/search_r1_like_utils.py, copied unchanged
  in ``benchmarks/_peer_clients.py``), one thread per client as verl's tool workers call it (requests,
  a new connection per call), the same body;
- ``qx-sessions``: qx's client with each client its own session, reset every ``--episode`` queries
  (the per-session removal path: session requests are searched one at a time);
- ``httpx-sessions`` (on request): the client this benchmark used before, ``httpx.AsyncClient`` with
  sessions, to show what the client costs.

Each run reports queries/s, p50/p95/p99 latency seen by its clients, errors, the requests its clients
sent (warm-up and resets included) beside the requests the server counted, the server's mean batch, and
the CPU its clients and the server used, in cores: clients near a core, or near the machine's free
cores, limit the figure; the server's worker near one core limits the server.

    python -m benchmarks.serve --clients 64 --seconds 20
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks._common import describe_run, markdown_table, parse_args, write_text_atomic

#: Run name -> (client, each client its own session).
RUNS = {"qx": ("qx", False), "verl": ("verl", False), "qx-sessions": ("qx", True),
        "httpx-sessions": ("httpx", True)}


@dataclass
class Args:
    items: int = 20_000
    """Corpus size of the synthetic snapshot (made once when --snapshot is not given)."""
    seed: int = 0
    """Corpus and query seed."""
    clients: int = 64
    """Concurrent clients of each run."""
    seconds: float = 20.0
    """How long each run's clients send requests (after the warm-up)."""
    warmup: float = 2.0
    """Seconds of load before measuring, in each run."""
    runs: tuple[str, ...] = ("qx", "verl", "qx-sessions")
    """Runs, comma-separated, one after another against one server: qx, verl, qx-sessions, httpx-sessions."""
    processes: int = 0
    """Client processes each run's clients are spread over (0: one per 4 cores, 1 to 8)."""
    episode: int = 5
    """Queries per episode in the session runs: each client resets its session after this many."""
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


def check(args: Args) -> None:
    """Refuse settings that cannot run, in one line."""
    unknown = [r for r in args.runs if r not in RUNS]
    if unknown or not args.runs:
        raise ValueError(f"--runs takes some of {', '.join(RUNS)}; got {','.join(args.runs) or 'none'}")
    for name in ("clients", "episode", "topk"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.seconds <= 0 or args.warmup < 0 or args.timeout <= 0 or args.processes < 0:
        raise ValueError("--seconds and --timeout must be positive, --warmup and --processes not negative")


def processes_of(args: Args) -> int:
    wanted = args.processes or min(8, max(1, (os.cpu_count() or 1) // 4))
    return min(wanted, args.clients)


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


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process and its threads (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _ok(body: dict) -> bool:
    """An answer to one query: ``result`` holds one list of hits."""
    result = body.get("result")
    return isinstance(result, list) and len(result) == 1 and isinstance(result[0], list)


# --- the clients (each runs in a client process) ------------------------------------------------


class _Connection:
    """One keep-alive HTTP/1.1 connection: requests written as bytes, answers read by Content-Length."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, session: str | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n" + (f"x-session-id: {session}\r\n" if session else "") + "\r\n")
        self.writer.write(head.encode("ascii") + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        lines = header.lower().split(b"\r\n")
        length = next((int(line[15:]) for line in lines if line.startswith(b"content-length:")), None)
        if length is None:
            raise ValueError("an answer without content-length")
        payload = await self.reader.readexactly(length)
        if b"connection: close" in lines:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class _Tally:
    """What one client process saw: latencies and outcomes inside the window, and every request sent."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.sent = 0
        self.resets = 0
        self.reset_errors = 0
        self.lock = threading.Lock()

    def query(self, sent: float, done: float, ok: bool, start: float) -> None:
        with self.lock:
            self.sent += 1
            if sent >= start:
                self.latencies.append(done - sent)
                self.errors += not ok

    def reset(self, ok: bool) -> None:
        with self.lock:
            self.resets += 1
            self.reset_errors += not ok


def _body(query: str, topk: int) -> bytes:
    return json.dumps({"queries": [query], "topk": topk, "return_scores": True}, ensure_ascii=False).encode()


async def _qx_client(index: int, url: str, queries: list[str], settings: dict, sessions: bool, start: float,
                     end: float, tally: _Tally) -> None:
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    connection = _Connection(host, int(port))
    session = f"bench-{index}" if sessions else None
    step = index
    try:
        while time.monotonic() < end:
            if session and (step - index) % settings["episode"] == 0:
                try:
                    async with asyncio.timeout(settings["timeout"]):
                        status, _ = await connection.post(f"/session/{session}/reset", b"")
                    tally.reset(status == 200)
                except Exception:  # noqa: BLE001 - a failed reset is counted, whatever it was
                    connection.close()
                    tally.reset(False)
            body = _body(queries[(step * 7919) % len(queries)], settings["topk"])
            step += 1
            sent = time.monotonic()
            try:
                async with asyncio.timeout(settings["timeout"]):
                    status, payload = await connection.post("/retrieve", body, session)
                ok = status == 200 and _ok(json.loads(payload))
            except Exception:  # noqa: BLE001 - a failed request is counted, whatever it was
                connection.close()
                ok = False
            tally.query(sent, time.monotonic(), ok, start)
    finally:
        connection.close()


async def _httpx_client(client, index: int, queries: list[str], settings: dict, start: float, end: float,
                        tally: _Tally) -> None:
    session = f"bench-{index}"
    headers = {"X-Session-Id": session}
    step = index
    while time.monotonic() < end:
        if (step - index) % settings["episode"] == 0:
            try:
                tally.reset((await client.post(f"/session/{session}/reset")).status_code == 200)
            except Exception:  # noqa: BLE001 - a failed reset is counted, whatever it was
                tally.reset(False)
        query = queries[(step * 7919) % len(queries)]
        step += 1
        sent = time.monotonic()
        try:
            response = await client.post("/retrieve", json={"queries": [query], "topk": settings["topk"],
                                                            "return_scores": True}, headers=headers)
            ok = response.status_code == 200 and _ok(response.json())
        except Exception:  # noqa: BLE001 - a failed request is counted, whatever it was
            ok = False
        tally.query(sent, time.monotonic(), ok, start)


async def _asyncio_clients(client: str, sessions: bool, url: str, indexes: list[int], queries: list[str],
                           settings: dict, start: float, end: float, tally: _Tally) -> None:
    if client == "qx":
        await asyncio.gather(*(_qx_client(i, url, queries, settings, sessions, start, end, tally) for i in indexes))
        return
    import httpx

    limits = httpx.Limits(max_connections=len(indexes), max_keepalive_connections=len(indexes))
    async with httpx.AsyncClient(base_url=url, timeout=settings["timeout"], limits=limits) as http:
        await asyncio.gather(*(_httpx_client(http, i, queries, settings, start, end, tally) for i in indexes))


def _verl_clients(url: str, indexes: list[int], queries: list[str], settings: dict, start: float, end: float,
                  tally: _Tally) -> None:
    from benchmarks._peer_clients import call_search_api

    def client(index: int) -> None:
        step = index
        while time.monotonic() < end:
            query = queries[(step * 7919) % len(queries)]
            step += 1
            sent = time.monotonic()
            try:
                answer, error = call_search_api(url + "/retrieve", [query], topk=settings["topk"],
                                                return_scores=True, timeout=settings["timeout"])
                ok = error is None and answer is not None and _ok(answer)
            except Exception:  # noqa: BLE001 - a failed request is counted, whatever it was
                ok = False
            tally.query(sent, time.monotonic(), ok, start)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in indexes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _client_process(run: str, url: str, indexes: list[int], queries: list[str], settings: dict, connection) -> None:
    """One client process: say it is ready, wait for the window (monotonic clock, shared by the processes
    of a machine), drive the server and send back what it saw."""
    client, sessions = RUNS[run]
    if client == "verl":
        import requests  # noqa: F401 - imported before the clock starts
    connection.send("ready")
    start, end = connection.recv()
    tally = _Tally()
    cpu = time.process_time()
    if client == "verl":
        _verl_clients(url, indexes, queries, settings, start, end, tally)
    else:
        asyncio.run(_asyncio_clients(client, sessions, url, indexes, queries, settings, start, end, tally))
    connection.send({"latencies": tally.latencies, "errors": tally.errors, "sent": tally.sent,
                     "resets": tally.resets, "reset_errors": tally.reset_errors,
                     "cpu_s": time.process_time() - cpu, "finished": time.monotonic()})
    connection.close()


# --- a run --------------------------------------------------------------------------------------


def _server_stats(url: str) -> dict:
    import httpx

    return httpx.get(url + "/stats", timeout=60).json()


def _jobs(stats: dict) -> float:
    return stats["mean_batch"] * stats["batches"]


def drive(run: str, url: str, queries: list[str], args: Args, server_pid: int | None = None) -> dict:
    """One run of ``args.clients`` clients against the server at ``url``: its row of figures."""
    processes = processes_of(args)
    settings = {"topk": args.topk, "episode": args.episode, "timeout": args.timeout}
    context = multiprocessing.get_context("spawn")
    children, pipes = [], []
    for p in range(processes):
        mine, theirs = context.Pipe()
        indexes = list(range(p, args.clients, processes))
        child = context.Process(target=_client_process, args=(run, url, indexes, queries, settings, theirs),
                                daemon=True, name=f"qx-bench-serve-{run}-{p}")
        child.start()
        theirs.close()
        children.append(child)
        pipes.append(mine)
    try:
        for pipe in pipes:
            if not pipe.poll(300) or pipe.recv() != "ready":
                raise RuntimeError(f"a client process of run {run!r} did not start")
        before = _server_stats(url)
        server_cpu = _cpu_seconds(server_pid) if server_pid else None
        start = time.monotonic() + args.warmup
        end = start + args.seconds
        for pipe in pipes:
            pipe.send((start, end))
        tallies = []
        for pipe in pipes:
            if not pipe.poll(args.warmup + args.seconds + args.timeout + 300):
                raise RuntimeError(f"a client process of run {run!r} did not finish")
            tallies.append(pipe.recv())
        after = _server_stats(url)
        server_cpu_after = _cpu_seconds(server_pid) if server_pid else None
    finally:
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()
                child.join()
    measured = max(t["finished"] for t in tallies) - start
    busy = max(t["finished"] for t in tallies) - (start - args.warmup)
    latencies = np.array([x for t in tallies for x in t["latencies"]]) * 1000
    requests = len(latencies)
    errors = sum(t["errors"] for t in tallies)
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99]) if requests else (0.0, 0.0, 0.0)
    batches = after["batches"] - before["batches"]
    client, sessions = RUNS[run]
    return {
        "run": run, "client": client, "sessions": sessions, "clients": args.clients, "processes": processes,
        "seconds": round(measured, 2), "requests": requests, "queries_per_s": round(requests / measured, 1),
        "p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2), "p99_ms": round(float(p99), 2),
        "errors": errors, "error_rate": round(errors / requests, 5) if requests else 0.0,
        "sent": sum(t["sent"] for t in tallies), "resets": sum(t["resets"] for t in tallies),
        "reset_errors": sum(t["reset_errors"] for t in tallies),
        "server_requests": after["requests"] - before["requests"],
        "server_errors": after["errors"] - before["errors"],
        "mean_batch": round((_jobs(after) - _jobs(before)) / batches, 2) if batches else 0.0,
        "client_cores": round(sum(t["cpu_s"] for t in tallies) / busy, 3),
        "server_cores": (round((server_cpu_after - server_cpu) / busy, 3)
                         if server_cpu is not None and server_cpu_after is not None else None),
    }


def table(rows: list[dict]) -> str:
    header = ["run", "client", "session", "q/s", "p50 ms", "p95 ms", "p99 ms", "errors", "sent / server counted",
              "mean batch", "client cores", "server cores"]
    return markdown_table(header, [
        [r["run"], {"qx": "qx (asyncio, keep-alive)", "verl": "verl call_search_api (threads)",
                    "httpx": "httpx.AsyncClient"}[r["client"]], "own" if r["sessions"] else "none",
         f"{r['queries_per_s']:.1f}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['p99_ms']:.1f}",
         f"{r['errors']} / {r['requests']:,}", f"{r['sent'] + r['resets']:,} / {r['server_requests']:,}",
         f"{r['mean_batch']:.2f}", f"{r['client_cores']:.2f}",
         "-" if r["server_cores"] is None else f"{r['server_cores']:.2f}"]
        for r in rows])


def main(args: Args) -> dict:
    import httpx

    check(args)
    snapshot = _snapshot(args)
    queries = _queries(snapshot, args.seed)
    process, url = _start_server(snapshot, args)
    rows = []
    try:
        for _ in range(600):  # the first search may build the index
            try:
                if httpx.get(url + "/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        httpx.post(url + "/retrieve", json={"queries": queries[:20]}, timeout=600)
        for run in args.runs:
            rows.append(drive(run, url, queries, args, process.pid))
            print(f"{run}: {rows[-1]['queries_per_s']} q/s, p50 {rows[-1]['p50_ms']} ms, "
                  f"p99 {rows[-1]['p99_ms']} ms, errors {rows[-1]['errors']}/{rows[-1]['requests']}", flush=True)
        server = _server_stats(url)
    finally:
        process.terminate()
        process.wait(timeout=30)
    result = {"run": describe_run(args), "items": len(snapshot), "clients": args.clients, "rows": rows,
              "server_stats": server}
    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
    load = os.getloadavg()
    print(f"{args.clients} clients per run, {args.seconds:g} s each on {len(snapshot):,} items "
          f"({','.join(args.modes)}), {processes_of(args)} client process(es), {os.cpu_count()} cores, "
          f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}:")
    print(table(rows))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main(parse_args(Args, __doc__))
