"""The search worker: one thread owns the search system (and its JVM-backed indexes). Requests
queue up; each pass takes every request waiting (up to ``max_batch``), searches all session-less
queries in one batch call, then serves the session requests in arrival order."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qx_env.adapters.server.sessions import SessionStore

log = logging.getLogger("qx_env.adapters.server")


@dataclass
class Job:
    """A search (``queries`` of ``session_id``, or of no session) or a call run in the worker."""

    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    session_id: str | None = None
    queries: tuple[str, ...] = ()
    call: Callable[[], Any] | None = None


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class SearchWorker:
    """Serialises every use of a :class:`SessionStore` onto one thread, batching concurrent requests."""

    def __init__(self, store: SessionStore, max_batch: int = 256) -> None:
        self.store = store
        self.max_batch = max_batch
        self.batches = 0
        self.jobs = 0
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="qx-search-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def search(self, session_id: str | None, queries: tuple[str, ...]) -> list[np.ndarray]:
        """Exposed item positions per query (see :meth:`SessionStore.search`)."""
        return await self._submit(session_id=session_id, queries=queries)

    async def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the worker thread (session resets, evaluation) and return its result."""
        return await self._submit(call=function)

    def _submit(self, **fields: Any) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(Job(future, loop, **fields))
        return future

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    extra = self._queue.get_nowait()
                except queue.Empty:
                    break
                if extra is None:
                    stop = True
                    break
                batch.append(extra)
            self._serve(batch)
            if stop:
                return

    def _serve(self, batch: list[Job]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        static = [job for job in batch if job.call is None and job.session_id is None]
        if static:
            try:
                found = self.store.search_static([q for job in static for q in job.queries])
            except Exception as exc:  # noqa: BLE001 - the error goes back to each waiting request
                for job in static:
                    self._reply(job, None, exc)
            else:
                start = 0
                for job in static:
                    self._reply(job, found[start:start + len(job.queries)], None)
                    start += len(job.queries)
        for job in batch:
            if job.call is None and job.session_id is None:
                continue
            try:
                result = job.call() if job.call is not None else self.store.search(job.session_id, list(job.queries))
            except Exception as exc:  # noqa: BLE001 - the error goes back to the request
                self._reply(job, None, exc)
            else:
                self._reply(job, result, None)

    @staticmethod
    def _reply(job: Job, result: Any, error: BaseException | None) -> None:
        try:
            job.loop.call_soon_threadsafe(_settle, job.future, result, error)
        except RuntimeError:  # the event loop closed (server shutting down)
            log.debug("dropped a reply: the event loop is closed")
