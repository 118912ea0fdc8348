"""Serving statistics for ``GET /stats``: requests, queries/s over a recent window, latency
percentiles over the most recent requests, and errors by status."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

import numpy as np


class ServingStats:
    """Counts and latencies of answered requests (``window`` latencies, ``horizon`` seconds of rate)."""

    def __init__(self, window: int = 10_000, horizon: float = 60.0) -> None:
        self.started = time.monotonic()
        self.horizon = horizon
        self.requests = 0
        self.queries = 0
        self.errors: Counter[int] = Counter()
        self._latencies: deque[float] = deque(maxlen=window)
        self._recent: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def record(self, seconds: float, queries: int, status: int) -> None:
        """One answered request: its latency, the queries it searched and its HTTP status."""
        now = time.monotonic()
        with self._lock:
            self.requests += 1
            if status >= 400:
                self.errors[status] += 1
                return
            self.queries += queries
            self._latencies.append(seconds)
            self._recent.append((now, queries))
            while self._recent and self._recent[0][0] < now - self.horizon:
                self._recent.popleft()

    def summary(self) -> dict:
        """The figures ``/stats`` serves."""
        now = time.monotonic()
        with self._lock:
            latencies = np.array(self._latencies) * 1000 if self._latencies else np.zeros(0)
            recent = sum(q for t, q in self._recent if t >= now - self.horizon)
            errors = {str(status): count for status, count in sorted(self.errors.items())}
            requests, queries = self.requests, self.queries
        span = min(self.horizon, max(now - self.started, 1e-9))
        quantiles = np.percentile(latencies, [50, 95]) if len(latencies) else (0.0, 0.0)
        return {
            "uptime_s": round(now - self.started, 3),
            "requests": requests,
            "queries": queries,
            "queries_per_s": round(recent / span, 2),
            "p50_ms": round(float(quantiles[0]), 3),
            "p95_ms": round(float(quantiles[1]), 3),
            "errors": sum(self.errors.values()),
            "errors_by_status": errors,
        }
