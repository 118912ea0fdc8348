"""Typed values passed between the parts of qx-env."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Retrieval modes, each with a bit in :attr:`Hits.modes`.
MODE_BITS = {"keyword": 1, "embedding": 2, "graph": 4}


@dataclass(frozen=True)
class Hits:
    """Ranked search results as arrays (no per-hit objects): item ``positions`` (row numbers in
    the snapshot), best first, their ``scores``, and optionally ``modes``, a bit mask per hit of
    the retrieval modes that found it (see :data:`MODE_BITS`)."""

    positions: np.ndarray
    scores: np.ndarray
    modes: np.ndarray | None = None

    @classmethod
    def empty(cls) -> Hits:
        return cls(np.empty(0, np.int64), np.empty(0, np.float32), np.empty(0, np.uint8))

    def __len__(self) -> int:
        return len(self.positions)

    def _take(self, index) -> Hits:
        return Hits(self.positions[index], self.scores[index], None if self.modes is None else self.modes[index])

    def top(self, k: int) -> Hits:
        return self._take(slice(0, k))

    def where(self, mask: np.ndarray) -> Hits:
        """Keep the hits whose item is true in ``mask`` (a boolean array over all items)."""
        return self._take(mask[self.positions])

    def found_by(self, mode: str) -> Hits:
        """These hits attributed to one retrieval mode."""
        return Hits(self.positions, self.scores, np.full(len(self), MODE_BITS[mode], np.uint8))

    def mode_names(self, i: int) -> list[str]:
        """Names of the modes that found hit ``i``."""
        if self.modes is None:
            return []
        return [name for name, bit in MODE_BITS.items() if self.modes[i] & bit]


@dataclass(frozen=True)
class QueryOutcome:
    """What one query did: the items it exposed and what the auditor found among them."""

    query: str
    exposed: np.ndarray  # item positions, in exposed order
    toxic: np.ndarray  # positions of the exposed toxic items
    detected: np.ndarray  # toxic items the auditor caught (all of ``toxic`` at recall 1)
    new: np.ndarray  # detected items not detected before (this episode, or this day when persistent)
    modes: np.ndarray | None  # bit mask of the modes that found each exposed item

    @property
    def toxic_hits(self) -> int:
        return len(self.toxic)

    @property
    def toxic_ratio(self) -> float:
        """Toxic items / exposed items (0 when nothing was exposed)."""
        return len(self.toxic) / len(self.exposed) if len(self.exposed) else 0.0

    @property
    def toxic_modes(self) -> np.ndarray:
        """Bit mask (:data:`MODE_BITS`) of the modes that found each toxic hit."""
        if self.modes is None:
            return np.zeros(len(self.toxic), np.uint8)
        return self.modes[np.isin(self.exposed, self.toxic)]

    def hit_modes(self) -> dict[str, int]:
        """Toxic hits found by each retrieval mode (a hit that two modes found counts for both)."""
        toxic_modes = self.toxic_modes
        return {name: int(np.count_nonzero(toxic_modes & bit)) for name, bit in MODE_BITS.items()}

    @property
    def effective(self) -> bool:
        """At least one toxic item among the exposed: the paper's effective query."""
        return len(self.toxic) > 0


@dataclass(frozen=True)
class StepOutcome:
    """Everything a step did, as reward terms see it."""

    queries: tuple[QueryOutcome, ...]
    k: int
    well_formed: bool = True  # False when a model answer could not be parsed
    dropped: int = 0  # queries past the remaining budget, not searched


@dataclass(frozen=True)
class OfflineMetrics:
    """The paper's Table 5 row."""

    hit_at_k: int  # toxic items in the top k, summed over queries
    distinct_hits: int  # distinct toxic items found
    queries: int
    effective_queries: int
    k: int = 100
    exposed: int = 0  # items exposed, summed over queries
    #: Toxic share of the live items the queries searched (the base rate), when known.
    base_rate: float | None = None
    #: The query hit rate the same queries would have if each exposed as many items as it did,
    #: drawn at random from the live items (the chance line), when known.
    chance_hit_rate: float | None = None

    @property
    def hit_rate(self) -> float:
        """Effective queries / queries: the paper's Query hit rate."""
        return self.effective_queries / self.queries if self.queries else 0.0

    @property
    def precision(self) -> float:
        """Toxic share of the exposed items (hit@k / exposed)."""
        return self.hit_at_k / self.exposed if self.exposed else 0.0

    def as_dict(self) -> dict:
        row = {f"hit@{self.k}": self.hit_at_k, "distinct_hits": self.distinct_hits, "queries": self.queries,
               "effective_queries": self.effective_queries, "query_hit_rate": round(self.hit_rate, 4),
               "exposed": self.exposed, "precision": round(self.precision, 4)}
        if self.base_rate is not None:
            row["base_rate"] = round(self.base_rate, 6)
        if self.chance_hit_rate is not None:
            row["chance_hit_rate"] = round(self.chance_hit_rate, 4)
        return row
