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

    def mode_names(self, i: int) -> list[str]:
        """Names of the modes that found hit ``i``."""
        if self.modes is None:
            return []
        return [name for name, bit in MODE_BITS.items() if self.modes[i] & bit]
