"""Weeks online: each day listings arrive (in the wording their sellers use that day), reports are filed
for live reported listings and taken down, the auditors' queries and then each model's are searched for
them, detections are taken down, and campaigns reword what was hit. Reported per week and per report."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from qx_env.errors import QxError
from qx_env.online._platform import Platform
from qx_env.online._retrain import FiledReport, Probe, Retrain
from qx_env.online._timeline import Timeline
from qx_env.online._world import OnlineWorld
from qx_env.parsers import search_queries
from qx_env.search import Dynamics, SearchSystem

#: The source that is the auditors' marks on each report (as they read on the listing's live version).
ANNOTATION = "annotation"
#: A source: :data:`ANNOTATION`, a function from the day's reported listings' texts to each one's queries
#: (a policy's ``extract``), or a :class:`~qx_env.online.Retrain` (a policy trained on the reports filed so far).
Source = str | Callable[[list[str]], Sequence[Sequence[str]]] | Retrain


@dataclass
class WeeksResult:
    """Per week (``weeks``), per report (``per_report``, each with its campaign: the unit of the paired
    statistics), every rewording (``rewordings``) and every training of a :class:`~qx_env.online.Retrain` source
    (``fits``: source, week, last day, reports it saw, whether it gave a new policy), with the lineage record
    of the world (``lineage``) and the campaigns that moved account (``accounts``)."""

    days: int
    sources: list[str]
    weeks: list[dict] = field(default_factory=list)
    per_report: list[dict] = field(default_factory=list)
    rewordings: list[dict] = field(default_factory=list)
    fits: list[dict] = field(default_factory=list)
    lineage: list[dict] = field(default_factory=list)
    accounts: list[dict] = field(default_factory=list)
    #: The world position each base item came online as (-1: never); not part of the JSON.
    posted: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False)

    @property
    def detections(self) -> int:
        return sum(w["detections"] for w in self.weeks)

    @property
    def hit_queries(self) -> int:
        return sum(w["hit_queries"] for w in self.weeks)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in ("days", "sources", "weeks", "per_report", "rewordings",
                                                       "fits", "lineage", "accounts")}

    def to_json(self) -> str:
        """The result as JSON: the same run gives the same bytes."""
        return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True)


def simulate_weeks(world: OnlineWorld, timeline: Timeline, system: SearchSystem,
                   sources: Mapping[str, Source] | None = None, dynamics: Dynamics | str = "removal",
                   split: str | Sequence[str] = "test", days: int | None = None, seed: int = 0,
                   progress: bool = False) -> WeeksResult:
    """Run the clock ``days`` days (default: the timeline's) over ``world`` searched by ``system`` (opened on
    ``world.snapshot``). Each day (:meth:`Platform.open_day`): the rewordings due take effect, the day's
    listings come online (a campaign listing in its campaign's current wording), the day's reports of ``split``
    whose listing is live are filed and their listings taken down; then per report the ``sources`` (in order;
    default the auditors' marks) query as :func:`qx_env.metrics.simulate_day` does: a query an earlier source
    asked is counted as that source's (``shared``), detections are taken down under ``dynamics``, and
    takedowns reach the sellers. ``drift`` of week w: the share of week w-1's effective queries that still
    expose a toxic item at the end of week w. A :class:`~qx_env.online.Retrain` source is trained at the end of
    the weeks it is due on every report filed so far (its text as posted, the auditors' marks on it) and asks
    that policy's queries from the next day. The same inputs and seed give the same result, byte for byte
    (:meth:`WeeksResult.to_json`; a fit that is itself deterministic)."""
    from tqdm.auto import trange

    sources = dict(sources) if sources is not None else {"human": ANNOTATION}
    days = timeline.days if days is None else days
    if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 1:
        raise QxError(f"days must be a whole number of at least 1, got {days!r}")
    if days > timeline.days:
        raise QxError(f"the clock would run past the timeline: {days} days asked, the timeline has {timeline.days}")
    for name, source in sources.items():
        if not (source == ANNOTATION or callable(source) or isinstance(source, Retrain)):
            raise QxError(f"source {name!r} must be {ANNOTATION!r}, a function from texts to queries or a Retrain, "
                          f"got {source!r}")
    platform = Platform(world, timeline, system, dynamics, split, seed)
    result = WeeksResult(days, list(sources), lineage=world.lineage.as_records(),
                         accounts=world.accounts.as_records())
    week = _Week(sources)
    effective_before: list[str] = []
    current = {name: source.initial if isinstance(source, Retrain) else source for name, source in sources.items()}
    filed_so_far: list[FiledReport] = []
    for day in trange(days, desc="days online", disable=not progress):
        filed = platform.open_day()
        week.toxic_arrivals += int(platform.labels[platform.arrived].sum())
        texts, marks = [platform.text(i) for i in filed], [platform.marks(i) for i in filed]
        filed_so_far += [FiledReport(timeline.report_ids[i], day, t, tuple(m)) for i, t, m in zip(filed, texts, marks)]
        asked = {name: _queries(source, texts, marks) for name, source in current.items()}
        for slot, i in enumerate(filed):
            row = {"day": day, "week": day // 7 + 1, "report_id": timeline.report_ids[i],
                   "campaign": platform.campaigns[i], "detections": 0, "hit_queries": 0, "queries": 0}
            seen: set[str] = set()
            for name in sources:
                for query in search_queries(q for q in asked[name][slot] if isinstance(q, str)):
                    if query in seen:
                        week.by_source[name]["shared"] += 1
                        continue
                    seen.add(query)
                    outcome = platform.run(query)
                    week.count(name, query, len(outcome.new), bool(outcome.effective))
                    row["detections"] += len(outcome.new)
                    row["hit_queries"] += int(outcome.effective)
                    row["queries"] += 1
            platform.tick()
            result.per_report.append(row)
        week.reports += len(filed)
        if day % 7 == 6 or day == days - 1:
            result.weeks.append(week.close(day, platform, effective_before))
            if day < days - 1:
                _retrain(sources, current, day // 7 + 1, day, filed_so_far, result.fits, platform.probe)
            effective_before = week.effective
            week = _Week(sources)
    result.rewordings, result.posted = platform.sellers.events, platform.posted
    return result


def _retrain(sources: Mapping[str, Source], current: dict, week: int, day: int, filed: list[FiledReport],
             fits: list[dict], probe: Probe) -> None:
    """Train each :class:`Retrain` source due at the end of ``week`` on the reports filed so far (a fit that
    mines feedback gets ``probe``, the platform as it stands)."""
    for name, source in sources.items():
        if isinstance(source, Retrain) and source.due(week):
            extract = source.refit(filed, probe)
            if extract is not None:
                current[name] = extract
            fits.append({"source": name, "week": week, "day": day, "reports": len(filed), "new": extract is not None})


def _queries(source: Source | None, texts: list[str], marks: list[list[str]]) -> list[Sequence[str]]:
    """Each of the day's reports' queries from ``source``."""
    if source == ANNOTATION:
        return marks
    if source is None:  # a Retrain source before its first policy asks nothing
        return [[] for _ in texts]
    if not texts:
        return []
    proposed = list(source(texts))
    if len(proposed) != len(texts):
        raise QxError(f"a source gave queries for {len(proposed)} of {len(texts)} reported listings")
    return proposed


class _Week:
    """A week's running counts."""

    def __init__(self, sources: Mapping[str, Source]) -> None:
        self.by_source = {name: {"detections": 0, "hit_queries": 0, "queries": 0, "shared": 0} for name in sources}
        self.reports = self.toxic_arrivals = 0
        self.effective: list[str] = []

    def count(self, name: str, query: str, new: int, effective: bool) -> None:
        row = self.by_source[name]
        row["queries"] += 1
        row["detections"] += new
        row["hit_queries"] += int(effective)
        if effective and query not in self.effective:
            self.effective.append(query)

    def close(self, day: int, platform: Platform, before: list[str]) -> dict:
        """The week's row, ending on ``day``: its counts, the live toxic listings and the drift."""
        still = platform.still_effective(before)
        return {
            "week": day // 7 + 1, "last_day": day, "reports": self.reports,
            "queries": sum(r["queries"] for r in self.by_source.values()),
            "detections": sum(r["detections"] for r in self.by_source.values()),
            "hit_queries": sum(r["hit_queries"] for r in self.by_source.values()),
            "by_source": self.by_source, "toxic_arrivals": self.toxic_arrivals,
            "live_toxic": platform.live_toxic,
            "rewordings": sum(1 for e in platform.sellers.events if e["day"] > day - 7),
            "drift_queries": len(before), "drift": sum(still) / len(before) if before else None,
        }
