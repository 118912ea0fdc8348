"""The platform as the clock moves it: which listings are online (the search system's live mask), which
reports are filed, what the auditor has detected, and the sellers who hear of takedowns. Driven a day at a
time by :func:`qx_env.online.simulate_weeks` and, one report per episode, by the environment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qx_env.errors import QxError
from qx_env.online._sellers import Sellers
from qx_env.online._timeline import Timeline
from qx_env.online._world import OnlineWorld
from qx_env.search import AuditedSearch, Dynamics, SearchSystem
from qx_env.types import QueryOutcome


def check_run(world: OnlineWorld, timeline: Timeline, system: SearchSystem, dynamics: Dynamics) -> None:
    """Refuse a run whose parts do not fit, each with one message."""
    if system.snapshot.fingerprint != world.snapshot.fingerprint:
        raise QxError("the search system is over another snapshot than the world's: open it on world.snapshot")
    if len(timeline.arrival) != len(world.base):
        raise QxError(f"the timeline is of {len(timeline.arrival)} items, the world's snapshot has {len(world.base)}")
    if world.config.adapt and not dynamics.removes:
        raise QxError("sellers adapt to takedowns, and static dynamics take nothing down: use removal or delayed "
                      "dynamics, or a world without adaptation")
    if dynamics.repost_rate:
        raise QxError("weeks bring campaign listings online by their timeline; repost_rate is the one-day stand-in "
                      "for that: leave it 0")


class Platform:
    """One run of ``timeline`` over ``world``, searched through ``system`` under ``dynamics`` (removals persist
    for the whole run); reports of ``split`` only. Nothing is online until :meth:`open_day`."""

    def __init__(self, world: OnlineWorld, timeline: Timeline, system: SearchSystem,
                 dynamics: Dynamics | str = "removal", split: str | Sequence[str] = "test", seed: int = 0) -> None:
        dynamics = Dynamics.parse(dynamics)
        check_run(world, timeline, system, dynamics)
        self.world, self.timeline, self.system = world, timeline, system
        base = world.base
        self.wanted = set(base.reports_in(split).column("report_id").to_pylist())
        self._marks = base.reports.column("annotations").to_pylist()
        self.campaigns = base.report_campaigns()
        self.texts, self.labels, self.origin = world.snapshot.texts, world.snapshot.labels, world.origin
        self.audit = AuditedSearch(system, dynamics.with_persist(True), seed=seed)
        system.remove(np.arange(len(world.snapshot)))  # nothing is online before its day
        self.sellers = Sellers(world, np.random.default_rng([seed, 32]))
        #: The world position each base item came online as (-1: not yet).
        self.posted = np.full(len(base), -1, np.int64)
        self._wording: dict[int, tuple[int, ...]] = {}
        self.day = -1

    @property
    def over(self) -> bool:
        """Whether the clock has reached the end of its timeline."""
        return self.day >= self.timeline.days - 1

    def open_day(self) -> list[int]:
        """Move to the next day: due rewordings take effect, the day's listings come online in their campaign's
        current wording, and the day's reports whose listing is live are filed, their listings taken down.
        Returns the filed reports (indexes into the timeline's reports), in arrival order."""
        if self.over:
            raise QxError(f"the clock would run past the timeline: it has {self.timeline.days} days")
        self.day += 1
        self.sellers.start_day(self.day)
        arriving = self.timeline.arriving(self.day)
        for p in arriving.tolist():
            self._wording[p] = self.sellers.generations(p)
            self.posted[p] = self.world.position(p, self._wording[p])
        self.arrived = self.posted[arriving]
        self.system.revive(self.arrived)
        items = self.timeline.report_items
        filed = [i for i in self.timeline.filed(self.day, self.wanted)
                 if self.posted[items[i]] >= 0 and self.system.alive[self.posted[items[i]]]]
        known = self.posted[items[filed]] if filed else np.empty(0, np.int64)
        self.audit.detected[known] = True
        self.system.remove(known)
        return filed

    def text(self, report: int) -> str:
        """The reported listing's text as it was posted."""
        return self.texts[self.posted[self.timeline.report_items[report]]]

    def marks(self, report: int) -> list[str]:
        """The auditors' marks on the report, as they read on the listing as posted."""
        p = int(self.timeline.report_items[report])
        return self.world.marks(p, self._wording[p], self._marks[report])

    def run(self, query: str) -> QueryOutcome:
        """Search and audit one query; its takedowns reach the sellers."""
        outcome = self.audit.run(query)
        for x in outcome.new.tolist():
            p = int(self.origin[x])
            self.sellers.taken_down(self.day, query, p, self._wording.get(p, ()))
        return outcome

    def tick(self) -> None:
        """One report handled (delayed removals move on)."""
        self.audit.tick()

    @property
    def live_toxic(self) -> int:
        return int(np.count_nonzero(self.system.alive & (self.labels == 1)))

    def probe(self, queries: Sequence[str]) -> list[tuple[int, int]]:
        """Each query's (items exposed, toxic items among them) on the platform as it stands: searched, not
        audited, so nothing is taken down and no seller hears of it (the feedback a retraining mines)."""
        queries = list(queries)
        if not queries:
            return []
        return [(len(hits.positions), int((self.labels[hits.positions] == 1).sum()))
                for hits in self.system.batch_search(queries)]

    def still_effective(self, queries: list[str]) -> list[bool]:
        """Whether each query exposes a live toxic item now (searched, not audited: nothing is taken down)."""
        return [toxic > 0 for _, toxic in self.probe(queries)]
