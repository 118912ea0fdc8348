"""Feedback mining fanned out over a Ray cluster: one task per shard, each worker opening the
snapshot's saved indexes itself. Every shard writes its own parts of the same log, so the result
equals a single-process run (and resumes like one). On a cluster, ``out`` and the snapshot must be
on storage every node sees. The cluster is reached as everywhere else (:mod:`qx_env.distributed`):
a local one bound to loopback, or the one at ``address``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qx_env.distributed import map_shards, start_ray
from qx_env.errors import QxError
from qx_env.snapshot import Snapshot


def _mine_shard(shard: int, snapshot_path: str, policies: Sequence[str], out: str, shards: int,
                options: dict) -> str:
    from training._feedback import mine_feedback

    return str(mine_feedback(Snapshot.load(snapshot_path), policies, out, shards=shards, shard=shard,
                             progress=False, **options))


def _options(split, candidates, modes, k, chunk) -> dict:
    return {"split": tuple(split), "candidates": candidates, "modes": tuple(modes), "k": k, "chunk": chunk}


def mine_feedback_ray(snapshot: Snapshot, policies: Sequence[str], out: str | Path, shards: int,
                      address: str = "", split: Sequence[str] = ("train",), candidates: int = 1,
                      modes: Sequence[str] = ("keyword",), k: int = 100, chunk: int = 50) -> Path:
    """:func:`training.mine_feedback` with its ``shards`` run as Ray tasks (other arguments as there)."""
    from training._feedback import MiningPlan, _check_plan

    if snapshot.path is None:
        raise QxError("mining on Ray needs a saved snapshot (workers load it from its directory)")
    if shards < 1:
        raise QxError(f"shards must be at least 1, got {shards}")
    out = Path(out).resolve()
    options = _options(split, candidates, modes, k, chunk)
    start_ray(address)  # first: an unreachable cluster leaves nothing behind
    _check_plan(out, MiningPlan(snapshot.fingerprint, tuple(policies), **options))  # once here: shards never race
    map_shards(_mine_shard, range(shards), str(snapshot.path.resolve()), list(policies), str(out), shards, options,
               address=address, desc="mine feedback (ray shards)")
    return out
