"""The platform's clock, drawn up front: the day each listing arrives, each campaign's start and lifetime,
and the day each report would be filed if its listing is still live then."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qx_env.errors import QxError
from qx_env.online._config import OnlineConfig
from qx_env.snapshot import Snapshot


@dataclass(frozen=True)
class Timeline:
    """``arrival[p]``: the day base item ``p`` comes online (``days``: after the run). Campaigns (clusters of
    at least two toxic listings) run from ``start`` (a day, possibly before the run) for ``lifetime`` days.
    ``report_day[i]``: the day report ``report_ids[i]`` is filed if its listing is live then; ``report_rank``
    orders a day's reports (their arrival order)."""

    days: int
    arrival: np.ndarray
    campaigns: tuple[str, ...]
    start: np.ndarray
    lifetime: np.ndarray
    report_ids: tuple[str, ...]
    report_items: np.ndarray
    report_day: np.ndarray
    report_rank: np.ndarray

    def arriving(self, day: int) -> np.ndarray:
        """Base positions of the items that come online on ``day``, in position order."""
        return np.flatnonzero(self.arrival == day)

    def filed(self, day: int, wanted: set[str] | None = None) -> list[int]:
        """Indexes (into ``report_ids``) of the reports due on ``day``, in their arrival order; with ``wanted``,
        only those report ids."""
        due = np.flatnonzero(self.report_day == day)
        due = due[np.argsort(self.report_rank[due], kind="stable")]
        return [int(i) for i in due if wanted is None or self.report_ids[i] in wanted]

    @classmethod
    def at_once(cls, snapshot: Snapshot, order: Sequence[str] | None = None) -> Timeline:
        """One day: every item live on day 0 and every report filed that day, in ``order`` (default: the
        snapshot's). Weeks over it are today's :func:`qx_env.metrics.simulate_day`."""
        reports = snapshot.reports.column("report_id").to_pylist()
        order = list(order) if order is not None else reports
        rank = {report: i for i, report in enumerate(order)}
        return cls(1, np.zeros(len(snapshot), np.int32), (), np.empty(0), np.empty(0), tuple(reports),
                   _report_items(snapshot), np.where([r in rank for r in reports], 0, 1).astype(np.int32),
                   np.array([rank.get(r, len(rank)) for r in reports], np.int64))


def _report_items(snapshot: Snapshot) -> np.ndarray:
    position = snapshot.position_of
    return np.array([position[i] for i in snapshot.reports.column("item_id").to_pylist()], np.int64)


def campaign_members(snapshot: Snapshot) -> dict[str, np.ndarray]:
    """Each campaign (a cluster of at least two toxic listings) and its listings' base positions, in posting
    order (created step, then position)."""
    labels = snapshot.labels
    clusters = snapshot.items.column("cluster_id").to_pylist()
    created = snapshot.items.column("created_step").to_numpy()
    members: dict[str, list[int]] = {}
    for position in np.flatnonzero(labels == 1).tolist():
        if clusters[position] is not None:
            members.setdefault(clusters[position], []).append(position)
    return {c: np.array(sorted(ps, key=lambda p: (created[p], p)), np.int64)
            for c, ps in sorted(members.items()) if len(ps) >= 2}


def make_timeline(snapshot: Snapshot, config: OnlineConfig, seed: int = 0) -> Timeline:
    """Draw the clock of a run over ``snapshot``'s items (the same seed, the same timeline).

    Independent listings are live on day 0 with chance ``backlog_share``, else arrive on a uniform day. A
    campaign lives an exponential ``campaign_lifetime_days`` from a start uniform on ``[-lifetime, days)``;
    its listings arrive in posting order at uniform offsets within its lifetime (those due before day 0 are
    live on day 0, those due after the run never arrive). A report is due a geometric(``report_rate``) - 1
    days after its listing arrives."""
    if not isinstance(config, OnlineConfig):
        raise QxError(f"make_timeline needs an OnlineConfig, got {type(config).__name__}")
    rng = np.random.default_rng([seed, 31])
    days = config.days
    arrival = np.where(rng.random(len(snapshot)) < config.backlog_share, 0,
                       rng.integers(0, days, len(snapshot))).astype(np.int32)
    members = campaign_members(snapshot)
    names = tuple(members)
    lifetime = rng.exponential(config.campaign_lifetime_days, len(names))
    start = rng.uniform(-lifetime, days) if len(names) else np.empty(0)
    for name, life, begin in zip(names, lifetime, start):
        positions = members[name]
        offsets = np.sort(rng.uniform(0, life, len(positions)))
        arrival[positions] = np.clip(np.floor(begin + offsets), 0, days).astype(np.int32)
    items = _report_items(snapshot)
    lag = rng.geometric(config.report_rate, len(items)) - 1
    report_day = np.minimum(arrival[items].astype(np.int64) + lag, days).astype(np.int32)
    rank = rng.permutation(len(items)).astype(np.int64)
    return Timeline(days, arrival, names, start, lifetime,
                    tuple(snapshot.reports.column("report_id").to_pylist()), items, report_day, rank)
