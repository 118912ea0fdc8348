"""Worker processes that each open the same index and search a share of a batch, so batch
search uses every core (threads are bounded by the GIL while hits are read from the JVM)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from qx_env.types import Hits

_index = None  # the index opened in this worker process


def _open_in_worker(snapshot_path: str, cls_path: str, options: dict) -> None:
    import importlib

    from qx_env.snapshot import Snapshot

    global _index
    module, name = cls_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    _index = cls.open(Snapshot.load(snapshot_path, verify=False), **options)


def _search_chunk(queries: list[str], k: int, alive: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(h.positions, h.scores) for h in (_index.search(q, k, alive) for q in queries)]


class SearchPool:
    """A persistent pool of ``processes`` workers holding one index each (spawned, not forked:
    a JVM does not survive a fork)."""

    def __init__(self, index, processes: int) -> None:
        if index.snapshot.path is None:
            raise ValueError("process-parallel search needs a saved snapshot")
        self.processes = processes
        cls_path = f"{type(index).__module__}.{type(index).__qualname__}"
        self._executor = ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("spawn"), initializer=_open_in_worker,
            initargs=(str(index.snapshot.path), cls_path, dict(getattr(index, "open_options", {}))),
        )

    def search(self, queries: Sequence[str], k: int, alive: np.ndarray | None) -> list[Hits]:
        size = max(1, -(-len(queries) // (self.processes * 4)))
        chunks = [list(queries[i:i + size]) for i in range(0, len(queries), size)]
        futures = [self._executor.submit(_search_chunk, chunk, k, alive) for chunk in chunks]
        return [Hits(p, s) for future in futures for p, s in future.result()]

    def close(self) -> None:
        self._executor.shutdown(cancel_futures=True)
