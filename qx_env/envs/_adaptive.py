"""The environment's clock under ``dynamics="adaptive"``: episodes are the reports the platform files as its
days go by (:class:`qx_env.online.Platform`), an episode's queries take listings down for the rest of the run,
and campaigns reword what was hit. A seeded reset starts a new run on the timeline of that seed; a run that
reaches the end of its timeline starts over on the same one."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qx_env.errors import QxError
from qx_env.online import OnlineConfig, OnlineWorld, Platform, build_world, make_timeline
from qx_env.search import SearchSystem
from qx_env.snapshot import Snapshot
from qx_env.types import QueryOutcome

ADAPTIVE = "adaptive"
#: Keys of an adaptive dynamics mapping besides :class:`qx_env.online.OnlineConfig`'s fields.
OWN_KEYS = ("kind", "world_dir", "world_seed")


def is_adaptive(dynamics: Any) -> bool:
    """Whether a dynamics spec asks for the adaptive clock (``"adaptive"`` or ``{"kind": "adaptive", ...}``)."""
    return dynamics == ADAPTIVE or isinstance(dynamics, Mapping) and dynamics.get("kind") == ADAPTIVE


class AdaptiveClock:
    """The world of ``snapshot`` under the options of an adaptive dynamics spec (the fields of
    :class:`~qx_env.online.OnlineConfig`; ``world_dir``: where its snapshot goes, default ``DIR/online`` of the
    saved snapshot; ``world_seed``: the lineage's seed) and the run the episodes come from."""

    def __init__(self, snapshot: Snapshot, spec: str | Mapping[str, Any], split: str | Sequence[str]) -> None:
        options = dict(spec) if isinstance(spec, Mapping) else {}
        fields = set(OnlineConfig.__dataclass_fields__)
        unknown = sorted(set(options) - fields - set(OWN_KEYS))
        if unknown:
            raise QxError(f"unknown adaptive dynamics option(s) {', '.join(map(repr, unknown))}; valid: "
                          f"{', '.join(sorted(fields | {'world_dir', 'world_seed'}))}")
        self.config = OnlineConfig(**{k: v for k, v in options.items() if k in fields})
        directory: str | os.PathLike | None = options.get("world_dir")
        if directory is None and snapshot.path is not None:
            directory = Path(snapshot.path) / "online"
        if directory is None and self.config.adapt:
            raise QxError("adaptive dynamics write their world (the listings' dormant versions) beside the snapshot: "
                          "open a saved snapshot or give world_dir")
        self._start(build_world(snapshot, self.config, directory, seed=int(options.get("world_seed", 0))), split)

    @classmethod
    def on_world(cls, world: OnlineWorld, split: str | Sequence[str]) -> AdaptiveClock:
        """A clock over a world already built (runs of one world share it: a server's sessions)."""
        clock = cls.__new__(cls)
        clock.config = world.config
        clock._start(world, split)
        return clock

    def _start(self, world: OnlineWorld, split: str | Sequence[str]) -> None:
        self.world, self.split = world, split
        self.platform: Platform | None = None
        self._filed: deque[int] = deque()
        self._seed = 0

    def restart(self, system: SearchSystem, seed: int | None) -> None:
        """A new run on the timeline of ``seed`` (None: the last seed's again)."""
        if seed is not None:
            self._seed = int(seed)
        timeline = make_timeline(self.world.base, self.config, self._seed)
        self.platform = Platform(self.world, timeline, system, "removal", self.split, self._seed)
        self._filed.clear()

    def next_report(self, system: SearchSystem) -> tuple[str, str]:
        """The next filed report's id and its listing's text as posted, moving the clock on as needed."""
        if self.platform is None:
            self.restart(system, None)
        empty_days = 0
        while not self._filed:
            if self.platform.over:
                if empty_days >= self.platform.timeline.days:
                    raise QxError("no report of this split is filed over the whole timeline: raise report_rate "
                                  "or days, or choose another split")
                self.restart(system, None)
            self._filed.extend(self.platform.open_day())
            empty_days += 1
        report = self._filed.popleft()
        return self.platform.timeline.report_ids[report], self.platform.text(report)

    def run(self, query: str) -> QueryOutcome:
        return self.platform.run(query)
