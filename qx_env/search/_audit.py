"""The search system with an auditor: queries are searched, exposed toxic items are detected
(with the auditor's recall) and, under removal dynamics, taken down. Shared by the environment
and the metrics, so both count the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qx_env.search._dynamics import Dynamics, held_back
from qx_env.search._system import SearchSystem
from qx_env.types import QueryOutcome


class AuditedSearch:
    """Runs queries against a :class:`SearchSystem` under :class:`Dynamics`."""

    def __init__(self, system: SearchSystem, dynamics: Dynamics | str = "static", seed: int | None = None,
                 known: np.ndarray | None = None) -> None:
        self.system = system
        #: Items already known toxic (the reported ones): taken down before exploring, never "new".
        self.known = np.asarray(known if known is not None else [], dtype=np.int64)
        self.dynamics = Dynamics.parse(dynamics)
        snapshot = system.snapshot
        self.labels = snapshot.labels
        self.detected = np.zeros(len(snapshot), dtype=bool)
        self.clock = 0
        self._pending: list[tuple[int, np.ndarray]] = []
        self.rng = np.random.default_rng(seed)
        self._held = np.empty(0, np.int64)
        self._clusters: np.ndarray | None = None
        if self.dynamics.repost_rate > 0:
            clusters = snapshot.items.column("cluster_id").to_pylist()
            created = snapshot.items.column("created_step").to_numpy()
            self._held = held_back(created, clusters, self.labels, self.dynamics.repost_after)
            self._held = self._held[np.argsort(created[self._held], kind="stable")]
            self._clusters = np.array(clusters, dtype=object)
        self.reset(full=True)

    def reset(self, full: bool = False, rng: np.random.Generator | None = None) -> None:
        """Start an episode: restore the snapshot unless removals persist (``full`` always restores)."""
        if rng is not None:
            self.rng = rng
        if self.dynamics.persist and not full:
            return
        self.system.restore()
        self.detected[:] = False
        self._pending.clear()
        self.clock = 0
        if len(self.known):
            self.system.remove(self.known)
            self.detected[self.known] = True
        if len(self._held):
            self.system.remove(self._held)
            self._reserve: dict[object, list[int]] = {}
            for position in self._held.tolist():
                self._reserve.setdefault(self._clusters[position], []).append(position)

    def run(self, query: str) -> QueryOutcome:
        """Search one query, detect, and apply the dynamics."""
        return self._audit(query, self.system.search(query))

    def run_many(self, queries: Sequence[str]) -> list[QueryOutcome]:
        """Queries in order. Static dynamics search them as one batch (same results as one by one)."""
        if self.dynamics.removes or len(queries) < 2:
            return [self.run(q) for q in queries]
        return [self._audit(q, hits) for q, hits in zip(queries, self.system.batch_search(list(queries)))]

    def _audit(self, query: str, hits) -> QueryOutcome:
        toxic_mask = self.labels[hits.positions] == 1
        toxic = hits.positions[toxic_mask]
        recall = self.dynamics.recall
        caught = toxic if recall >= 1 else toxic[self.rng.random(len(toxic)) < recall]
        new = caught[~self.detected[caught]]
        self.detected[new] = True
        if self.dynamics.removes and len(new):
            if self.dynamics.delay == 0:
                self._remove(new)
            else:
                self._pending.append((self.clock + self.dynamics.delay, new))
        return QueryOutcome(query, hits.positions, toxic, caught, new, hits.modes)

    def tick(self) -> None:
        """Advance one step: delayed removals that are due happen now."""
        self.clock += 1
        due = [positions for step, positions in self._pending if step <= self.clock]
        self._pending = [(step, positions) for step, positions in self._pending if step > self.clock]
        for positions in due:
            self._remove(positions)

    def _remove(self, positions: np.ndarray) -> None:
        self.system.remove(positions)
        if self._clusters is None:
            return
        for position in positions.tolist():
            reserve = self._reserve.get(self._clusters[position])
            if reserve and self.rng.random() < self.dynamics.repost_rate:
                self.system.revive([reserve.pop(0)])
