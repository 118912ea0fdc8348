"""The paper's metrics, computed one way for the environment, the CLI and the benchmarks.

Offline (Table 5): Number of hit@k (summed over queries, and distinct), # queries, # effective
queries, Query hit rate, over a static snapshot. Online (Table 7): a simulated day with removal,
human queries alone vs human queries followed by another source's, giving the toxic item
detection increment and the hit query increment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from qx_env.parsers import search_queries
from qx_env.search import AuditedSearch, Dynamics, SearchSystem
from qx_env.types import OfflineMetrics, QueryOutcome


def chance_effective(exposed: np.ndarray | Sequence[int], live: int, toxic: int) -> np.ndarray:
    """Probability that ``exposed`` items drawn at random (without replacement) from ``live``
    items of which ``toxic`` are toxic include at least one toxic item: 1 - C(live - toxic, n) /
    C(live, n), about 1 - (1 - p)^n. The chance line of a query that exposed n items."""
    from scipy.special import gammaln

    n = np.asarray(exposed, dtype=np.float64)
    clean = live - toxic
    possible = n <= clean  # more draws than clean items: a toxic one is certain
    drawn = np.where(possible, n, 0.0)
    log_none = gammaln(clean + 1) - gammaln(clean - drawn + 1) - gammaln(live + 1) + gammaln(live - drawn + 1)
    return np.where(possible, 1.0 - np.exp(log_none), 1.0)


def offline_metrics(outcomes: Iterable[QueryOutcome], k: int = 100, live: int | None = None,
                    live_toxic: int | None = None) -> OfflineMetrics:
    """Table 5 row of a set of query outcomes, with precision; with the number of ``live`` items
    and of toxic ones among them, also the base rate and the chance hit rate."""
    outcomes = list(outcomes)
    distinct = np.unique(np.concatenate([o.toxic for o in outcomes])) if outcomes else np.empty(0)
    exposed = [len(o.exposed) for o in outcomes]
    known = live is not None and live_toxic is not None and live > 0
    return OfflineMetrics(
        hit_at_k=int(sum(o.toxic_hits for o in outcomes)),
        distinct_hits=len(distinct),
        queries=len(outcomes),
        effective_queries=int(sum(o.effective for o in outcomes)),
        k=k,
        exposed=int(sum(exposed)),
        base_rate=live_toxic / live if known else None,
        chance_hit_rate=(float(chance_effective(exposed, live, live_toxic).mean()) if outcomes else 0.0)
        if known else None,
    )


@dataclass
class Evaluation:
    """Outcomes per report and the Table 5 row over all of them."""

    outcomes: dict[str, list[QueryOutcome]]
    metrics: OfflineMetrics


def _distinct(queries: Sequence[str]) -> list[str]:
    """The queries searched, as the environment searches them (one rule: :func:`search_queries`)."""
    return search_queries(q for q in queries if isinstance(q, str))


def reported_items(system: SearchSystem, report_ids: Iterable[str]) -> np.ndarray:
    """Item positions of reports (known toxic, taken down before exploring)."""
    snapshot = system.snapshot
    table = snapshot.reports
    wanted = set(report_ids)
    unknown = wanted - set(table.column("report_id").to_pylist())
    if unknown:
        from qx_env.errors import QxError

        raise QxError(f"{len(unknown)} unknown report id(s), e.g. {sorted(unknown)[:3]}")
    rows = zip(table.column("report_id").to_pylist(), table.column("item_id").to_pylist())
    return np.array([snapshot.position_of[item] for report, item in rows if report in wanted], dtype=np.int64)


def evaluate_queries(system: SearchSystem, queries_by_report: Mapping[str, Sequence[str]],
                     dynamics: Dynamics | str = "static", seed: int = 0, hide_reported: bool = True) -> Evaluation:
    """Run each report's queries (duplicates within a report counted once) and score them.

    Under static dynamics every distinct query is searched once, in one batch, and the outcomes
    equal stepping the queries one by one. Under removal dynamics queries run in report order.
    With ``hide_reported`` the evaluated reports' own items are taken down first (as the
    environment does), so a query that only finds its report scores nothing.
    """
    known = reported_items(system, queries_by_report) if hide_reported else None
    audit = AuditedSearch(system, dynamics, seed=seed, known=known)
    per_report = {report: _distinct(queries) for report, queries in queries_by_report.items()}
    outcomes: dict[str, list[QueryOutcome]] = {}
    if not audit.dynamics.removes:
        unique = list(dict.fromkeys(q for queries in per_report.values() for q in queries))
        searched = dict(zip(unique, audit.run_many(unique)))
        # detection state is per episode: a report's "new" items are those no earlier query of it found
        for report, queries in per_report.items():
            seen: set[int] = set()
            rows = []
            for query in queries:
                outcome = searched[query]
                new = np.array([p for p in outcome.detected.tolist() if p not in seen], dtype=np.int64)
                seen.update(outcome.detected.tolist())
                rows.append(QueryOutcome(query, outcome.exposed, outcome.toxic, outcome.detected, new, outcome.modes))
            outcomes[report] = rows
    else:
        for report, queries in per_report.items():
            audit.reset()  # each report is its own episode, restored as the env does by default
            outcomes[report] = audit.run_many(queries)
            audit.tick()
    system.restore()  # leave the search system as the snapshot is
    flat = [o for rows in outcomes.values() for o in rows]
    labels = system.snapshot.labels
    hidden = known if known is not None else np.empty(0, np.int64)
    live = len(labels) - len(hidden)
    live_toxic = int(labels.sum()) - int(labels[hidden].sum())
    return Evaluation(outcomes, offline_metrics(flat, system.k, live, live_toxic))


@dataclass
class DayResult:
    detections: int  # distinct toxic items detected over the day
    hit_queries: int  # effective queries
    queries: int
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Distinct toxic items detected so far, after each report of the day (in the day's order).
    cumulative: list[int] = field(default_factory=list)


def simulate_day(system: SearchSystem, sources: Mapping[str, Mapping[str, Sequence[str]]],
                 dynamics: Dynamics | str = "removal", seed: int = 0, hide_reported: bool = True) -> DayResult:
    """One continuous day: reports in order; for each, the sources' queries in the given source
    order (human first, as online), with detected items removed for the rest of the day. A query
    already asked for the report by an earlier source is not searched again (the paper counts it
    as the human's) and is counted in that source's ``shared``."""
    reports = list(dict.fromkeys(r for queries in sources.values() for r in queries))
    known = reported_items(system, reports) if hide_reported else None
    audit = AuditedSearch(system, Dynamics.parse(dynamics).with_persist(True), seed=seed, known=known)
    by_source = {name: {"detections": 0, "hit_queries": 0, "queries": 0, "shared": 0} for name in sources}
    cumulative = []
    for report in reports:
        asked: set[str] = set()
        for name, queries in sources.items():
            for query in _distinct(queries.get(report, ())):
                if query in asked:  # the same query from a later source adds nothing
                    by_source[name]["shared"] += 1
                    continue
                asked.add(query)
                outcome = audit.run(query)
                row = by_source[name]
                row["queries"] += 1
                row["detections"] += len(outcome.new)
                row["hit_queries"] += int(outcome.effective)
        audit.tick()
        cumulative.append(int(audit.detected.sum()) - len(audit.known))
    return DayResult(
        detections=cumulative[-1] if cumulative else 0,
        hit_queries=sum(r["hit_queries"] for r in by_source.values()),
        queries=sum(r["queries"] for r in by_source.values()),
        by_source=by_source,
        cumulative=cumulative,
    )


def online_increment(system: SearchSystem, base: Mapping[str, Sequence[str]], added: Mapping[str, Sequence[str]],
                     dynamics: Dynamics | str = "removal", seed: int = 0, names: tuple[str, str] = ("human", "model"),
                     ) -> dict:
    """Table 7: detection and hit-query increments of adding ``added`` queries to ``base`` ones."""
    alone = simulate_day(system, {names[0]: base}, dynamics, seed)
    together = simulate_day(system, {names[0]: base, names[1]: added}, dynamics, seed)
    system.restore()

    def increment(after: int, before: int) -> float:
        return (after - before) / before if before else float("inf") if after else 0.0

    return {
        "detections": {"base": alone.detections, "combined": together.detections},
        "hit_queries": {"base": alone.hit_queries, "combined": together.hit_queries},
        "detection_increment": increment(together.detections, alone.detections),
        "hit_query_increment": increment(together.hit_queries, alone.hit_queries),
        "by_source": together.by_source,
        "cumulative": {"base": alone.cumulative, "combined": together.cumulative},
    }
