"""How the platform reacts to detections: nothing (``static``, the paper's offline evaluation),
immediate ``removal``, ``delayed`` removal, an auditor who misses some (``recall``), and
campaigns that re-post held-back variants when their items are removed (``repost_rate``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qx_env.errors import QxError

KINDS = ("static", "removal", "delayed")


@dataclass(frozen=True)
class Dynamics:
    """``kind``: static | removal | delayed (removed ``delay`` steps after detection).
    ``recall``: chance the auditor catches an exposed toxic item. ``repost_rate``: chance that a
    removed campaign item is followed by the campaign's next held-back variant; with a rate > 0,
    campaign items created after step ``repost_after`` start held back. ``persist``: removals last
    across episodes (one continuous day) instead of being restored at reset."""

    kind: str = "static"
    delay: int = 0
    recall: float = 1.0
    repost_rate: float = 0.0
    repost_after: float = 0.75  # quantile of created steps after which campaign items start held back
    persist: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise QxError(f"unknown dynamics {self.kind!r}; choose from {', '.join(KINDS)}")
        if not 0 < self.recall <= 1:
            raise QxError(f"audit recall must be in (0, 1], got {self.recall}")
        if not 0 <= self.repost_rate <= 1:
            raise QxError(f"repost rate must be in [0, 1], got {self.repost_rate}")
        if self.delay < 0 or (self.kind == "delayed" and self.delay < 1):
            raise QxError(f"delayed dynamics need delay >= 1, got {self.delay}")
        if self.repost_rate and self.kind == "static":
            raise QxError("re-posting follows removals: use removal or delayed dynamics with repost_rate")

    @classmethod
    def parse(cls, spec: str | Mapping[str, Any] | Dynamics) -> Dynamics:
        """``"removal"``, ``{"kind": "delayed", "delay": 2, "recall": 0.9}`` or a Dynamics."""
        if isinstance(spec, Dynamics):
            return spec
        if isinstance(spec, str):
            return cls(kind=spec)
        try:
            return cls(**dict(spec))
        except TypeError as exc:
            raise QxError(f"bad dynamics options: {exc}") from None

    @property
    def removes(self) -> bool:
        return self.kind != "static"

    def with_persist(self, persist: bool) -> Dynamics:
        return replace(self, persist=persist)


def held_back(created_step: np.ndarray, clusters: list, labels: np.ndarray, quantile: float) -> np.ndarray:
    """Positions of the campaign items held back for re-posting (created after the quantile)."""
    toxic = np.flatnonzero((labels == 1) & np.array([c is not None for c in clusters]))
    if not len(toxic):
        return toxic
    cutoff = np.quantile(created_step[toxic], quantile)
    return toxic[created_step[toxic] > cutoff]
