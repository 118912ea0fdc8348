"""Feedback mining fanned out over a Ray cluster: one task per shard, each worker opening the
snapshot's saved indexes itself. Every shard writes its own parts of the same log, so the result
equals a single-process run (and resumes like one). On a cluster, ``out`` and the snapshot must be
on storage every node sees.

A local cluster started here binds to loopback (127.0.0.1) and starts no dashboard; pass
``address`` to join an existing cluster instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from qx_env.errors import QxError
from qx_env.snapshot import Snapshot

LOOPBACK = "127.0.0.1"


def _mine_shard(snapshot_path: str, policies: Sequence[str], out: str, shards: int, shard: int,
                options: dict) -> str:
    from training._feedback import mine_feedback

    return str(mine_feedback(Snapshot.load(snapshot_path), policies, out, shards=shards, shard=shard,
                             progress=False, **options))


def _options(split, candidates, modes, k, chunk) -> dict:
    return {"split": tuple(split), "candidates": candidates, "modes": tuple(modes), "k": k, "chunk": chunk}


def _loopback_only() -> None:
    """Ray on Linux replaces a loopback node address by the machine's reachable IP unless clusters are
    switched off, as it does on macOS and Windows; switch them off for this local node (the environment
    variable for the processes Ray starts, Ray's constant for this one, which read it at import)."""
    import ray._private.ray_constants as constants

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    constants.ENABLE_RAY_CLUSTER = False


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast, naming the address, when nothing listens there (Ray itself retries for minutes)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        if address == "auto":
            return
        raise QxError(f"Ray address {address!r} should be host:port (or ray://host:port, or auto)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise QxError(f"cannot reach a Ray cluster at {address}: {exc.strerror or exc}") from None


def _keep_the_jvm_signal_handlers() -> None:
    """Ray's driver installs a failure signal handler for SIGSEGV; the JVM of this process (keyword
    search) uses SIGSEGV itself once its code is compiled, so with Ray's handler in place the process
    crashes. Ray's own switch turns the handler off (read at import, hence the constant too)."""
    import ray._private.ray_constants as constants

    os.environ["RAY_DISABLE_FAILURE_SIGNAL_HANDLER"] = "1"
    constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER = True


def start_ray(address: str = "", cpus: int | None = None):
    """Connect to the cluster at ``address``, or start a local one bound to loopback."""
    import ray

    if ray.is_initialized():
        return ray
    _keep_the_jvm_signal_handlers()
    try:
        if address:
            _check_reachable(address)
            ray.init(address=address, log_to_driver=False)
        else:
            _loopback_only()
            ray.init(num_cpus=cpus, include_dashboard=False, _node_ip_address=LOOPBACK, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise QxError(f"cannot reach a Ray cluster at {address or 'a new local one'}: {exc}") from None
    return ray


def mine_feedback_ray(snapshot: Snapshot, policies: Sequence[str], out: str | Path, shards: int,
                      address: str = "", split: Sequence[str] = ("train",), candidates: int = 1,
                      modes: Sequence[str] = ("keyword",), k: int = 100, chunk: int = 50) -> Path:
    """:func:`training.mine_feedback` with its ``shards`` run as Ray tasks (other arguments as there)."""
    from tqdm.auto import tqdm

    from training._feedback import MiningPlan, _check_plan

    if snapshot.path is None:
        raise QxError("mining on Ray needs a saved snapshot (workers load it from its directory)")
    if shards < 1:
        raise QxError(f"shards must be at least 1, got {shards}")
    out = Path(out).resolve()
    options = _options(split, candidates, modes, k, chunk)
    ray = start_ray(address)  # first: an unreachable cluster leaves nothing behind
    _check_plan(out, MiningPlan(snapshot.fingerprint, tuple(policies), **options))  # once here: shards never race
    task = ray.remote(_mine_shard)
    pending = [task.remote(str(snapshot.path.resolve()), list(policies), str(out), shards, shard, options)
               for shard in range(shards)]
    with tqdm(total=shards, desc="mine feedback (ray shards)") as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            ray.get(done)  # a shard's error surfaces here
            bar.update(len(done))
    return out
