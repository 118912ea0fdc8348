"""The paper's metrics, computed one way for the environment, the CLI and the benchmarks.

Offline (Table 5): Number of hit@k (summed over queries, and distinct), # queries, # effective
queries, Query hit rate, over a static snapshot. Online (Table 7): a simulated day with removal,
human queries alone vs human queries followed by another source's, giving the toxic item
detection increment and the hit query increment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from qx_env.distributed import cluster_cpus, map_shards, split_evenly, start_ray
from qx_env.errors import QxError
from qx_env.parsers import search_queries
from qx_env.rankers import Ranker
from qx_env.search import AuditedSearch, Dynamics, SearchSettings, SearchSystem
from qx_env.snapshot import Snapshot
from qx_env.types import Hits, OfflineMetrics, QueryOutcome


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

    def per_report(self, campaigns: Mapping[str, str] | None = None) -> dict[str, list]:
        """Each report's figures, column-wise: its campaign (with ``campaigns``, report id -> campaign),
        queries, effective queries, items exposed and toxic items exposed (hits): what a paired
        comparison over campaigns needs (:mod:`qx_env.stats`)."""
        columns: dict[str, list] = {"report_id": [], **({"campaign": []} if campaigns is not None else {}),
                                    "queries": [], "effective_queries": [], "exposed": [], "hits": []}
        for report, rows in self.outcomes.items():
            columns["report_id"].append(report)
            if campaigns is not None:
                columns["campaign"].append(campaigns[report])
            columns["queries"].append(len(rows))
            columns["effective_queries"].append(int(sum(o.effective for o in rows)))
            columns["exposed"].append(int(sum(len(o.exposed) for o in rows)))
            columns["hits"].append(int(sum(o.toxic_hits for o in rows)))
        return columns


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
        raise QxError(f"{len(unknown)} unknown report id(s), e.g. {sorted(unknown)[:3]}")
    rows = zip(table.column("report_id").to_pylist(), table.column("item_id").to_pylist())
    return np.array([snapshot.position_of[item] for report, item in rows if report in wanted], dtype=np.int64)


def evaluate_queries(system: SearchSystem, queries_by_report: Mapping[str, Sequence[str]],
                     dynamics: Dynamics | str = "static", seed: int = 0, hide_reported: bool = True,
                     ray: bool = False, ray_address: str = "") -> Evaluation:
    """Run each report's queries (duplicates within a report counted once) and score them.

    Under static dynamics every distinct query is searched once, in one batch, and the outcomes
    equal stepping the queries one by one. Under removal dynamics queries run in report order.
    With ``hide_reported`` the evaluated reports' own items are taken down first (as the
    environment does), so a query that only finds its report scores nothing.

    With ``ray`` (or a ``ray_address``) the searches run as Ray tasks on the cluster at ``ray_address``
    (default: a local one, see :mod:`qx_env.distributed`), each worker opening the same search system
    from the saved snapshot; the Evaluation equals one process's. Static dynamics shard the distinct
    queries (the auditor stays here and audits their hits in order); removal dynamics shard whole
    reports, so they need reports that are independent episodes (audit recall 1, no re-posting,
    removals that do not persist), and are refused otherwise.
    """
    dynamics = Dynamics.parse(dynamics)
    on_ray = ray or bool(ray_address)
    if on_ray:
        _check_shardable(system, dynamics)
        start_ray(ray_address)  # an unreachable cluster fails here, before any search
    known = reported_items(system, queries_by_report) if hide_reported else None
    searcher = _RayBatches(system, ray_address) if on_ray and not dynamics.removes else system
    audit = AuditedSearch(searcher, dynamics, seed=seed, known=known)
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
    elif on_ray:
        outcomes = _episodes_on_ray(system, per_report, dynamics, seed, known, ray_address)
    else:
        outcomes = _episodes(audit, per_report)
    system.restore()  # leave the search system as the snapshot is
    flat = [o for rows in outcomes.values() for o in rows]
    labels = system.snapshot.labels
    hidden = known if known is not None else np.empty(0, np.int64)
    live = len(labels) - len(hidden)
    live_toxic = int(labels.sum()) - int(labels[hidden].sum())
    return Evaluation(outcomes, offline_metrics(flat, system.k, live, live_toxic))


def _episodes(audit: AuditedSearch, per_report: Mapping[str, list[str]]) -> dict[str, list[QueryOutcome]]:
    """Each report's queries in order, each report its own episode (restored as the env does by default)."""
    outcomes = {}
    for report, queries in per_report.items():
        audit.reset()
        outcomes[report] = audit.run_many(queries)
        audit.tick()
    return outcomes


# ---- the same evaluation as Ray tasks -------------------------------------------------------------
def _check_shardable(system: SearchSystem, dynamics: Dynamics) -> None:
    """Refuse, before any work, an evaluation whose Ray shards could differ from one process."""
    if system.snapshot.path is None:
        raise QxError("evaluation on Ray needs a saved snapshot (workers open it from its directory)")
    if not dynamics.removes:
        return
    carried = [why for why, carries in (
        (f"audit recall {dynamics.recall:g} (the auditor's random draws)", dynamics.recall < 1),
        (f"re-posting at rate {dynamics.repost_rate:g}", dynamics.repost_rate > 0),
        ("removals that persist", dynamics.persist)) if carries]
    if carried:
        raise QxError(f"evaluation on Ray under {dynamics.kind} dynamics shards whole reports, which needs each "
                      f"report to be an independent episode; here {' and '.join(carried)} would carry state from one "
                      f"report to the next: evaluate without Ray")


@dataclass(frozen=True)
class _SystemRecipe:
    """What a Ray worker needs to open the same search system: the saved snapshot, the system's
    settings and the digest of the ranker's risk scores, which travel beside it (none: retrieval order)."""

    snapshot_path: str
    fingerprint: str
    settings: SearchSettings
    scores_digest: str | None

    @classmethod
    def of(cls, system: SearchSystem) -> tuple[_SystemRecipe, np.ndarray | None]:
        scores = system.ranker.scores()
        digest = None if scores is None else hashlib.sha256(np.ascontiguousarray(scores).tobytes()).hexdigest()
        settings = system.settings.replace(candidates=system.candidates, ranker="retrieval", build=False)
        return cls(str(system.snapshot.path.resolve()), system.snapshot.fingerprint, settings, digest), scores


class _GivenScores(Ranker):
    """The evaluating process's ranker as a Ray worker has it: its risk scores, computed there once."""

    def __init__(self, snapshot: Snapshot, scores: np.ndarray) -> None:
        super().__init__(snapshot)
        self._scores = scores

    def scores(self) -> np.ndarray:
        return self._scores


#: The search system this (Ray worker) process opened last, with its recipe: reused by later tasks.
_opened: tuple[_SystemRecipe, SearchSystem] | None = None


def _open_system(recipe: _SystemRecipe, scores: np.ndarray | None) -> SearchSystem:
    """The search system of ``recipe`` in this worker, opened once (the indexes must exist: never built here)."""
    global _opened
    if _opened is None or _opened[0] != recipe:
        _opened = None  # one system per worker in memory
        snapshot = Snapshot.load(recipe.snapshot_path)
        if snapshot.fingerprint != recipe.fingerprint:
            import socket

            raise QxError(f"the Ray worker on {socket.gethostname()} finds another snapshot at {recipe.snapshot_path} "
                          f"(fingerprint {snapshot.fingerprint}, the evaluation's is {recipe.fingerprint}): put the "
                          f"snapshot on storage every node sees")
        ranker = "retrieval" if scores is None else _GivenScores(snapshot, scores)
        system = SearchSystem.from_settings(snapshot, recipe.settings, ranker=ranker)  # indexes never built here
        _opened = (recipe, system)
    return _opened[1]


def _search_shard(queries: list[str], recipe: _SystemRecipe, scores: np.ndarray | None,
                  alive: np.ndarray) -> list[Hits]:
    """A Ray task: the exposed hits of ``queries`` among the ``alive`` items, as the evaluating system has them."""
    system = _open_system(recipe, scores)
    system.restore()
    system.remove(np.flatnonzero(~alive))
    try:
        return system.batch_search(queries)
    finally:
        system.restore()


def _explore_shard(reports: list[tuple[str, list[str]]], recipe: _SystemRecipe, scores: np.ndarray | None,
                   dynamics: Dynamics, seed: int, known: np.ndarray | None) -> dict[str, list[QueryOutcome]]:
    """A Ray task: :func:`_episodes` of some reports (independent episodes, see :func:`_check_shardable`)."""
    system = _open_system(recipe, scores)
    try:
        return _episodes(AuditedSearch(system, dynamics, seed=seed, known=known), dict(reports))
    finally:
        system.restore()


def _episodes_on_ray(system: SearchSystem, per_report: Mapping[str, list[str]], dynamics: Dynamics, seed: int,
                     known: np.ndarray | None, address: str) -> dict[str, list[QueryOutcome]]:
    """:func:`_episodes` with the reports in contiguous shards, one Ray task each, merged in report order."""
    recipe, scores = _SystemRecipe.of(system)
    shards = split_evenly(list(per_report.items()), cluster_cpus(address))
    outcomes: dict[str, list[QueryOutcome]] = {}
    for part in map_shards(_explore_shard, shards, recipe, scores, dynamics, seed, known, address=address,
                           desc="evaluate reports (ray shards)"):
        outcomes.update(part)
    return outcomes


class _RayBatches:
    """The search system as the auditor uses it, with its batches searched by Ray workers that opened the
    same system (the same hits, in order); a single query, removals and restores are the system's own."""

    def __init__(self, system: SearchSystem, address: str) -> None:
        self.system, self.address = system, address
        self.snapshot = system.snapshot
        self.recipe, self.scores = _SystemRecipe.of(system)

    def batch_search(self, queries: Sequence[str]) -> list[Hits]:
        shards = split_evenly(list(queries), cluster_cpus(self.address))
        found = map_shards(_search_shard, shards, self.recipe, self.scores, self.system.alive.copy(),
                           address=self.address, desc="evaluate queries (ray shards)")
        return [hits for shard in found for hits in shard]

    def search(self, query: str) -> Hits:
        return self.system.search(query)

    def remove(self, positions) -> int:
        return self.system.remove(positions)

    def revive(self, positions) -> None:
        self.system.revive(positions)

    def restore(self) -> None:
        self.system.restore()


@dataclass
class DayResult:
    detections: int  # distinct toxic items detected over the day
    hit_queries: int  # effective queries
    queries: int
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Distinct toxic items detected so far, after each report of the day (in the day's order).
    cumulative: list[int] = field(default_factory=list)
    #: Each report of the day, in the day's order: ``{"report_id", "detections", "hit_queries", "queries"}``,
    #: its queries' (every source's) new detections and effective queries; they sum to the day's totals.
    per_report: list[dict] = field(default_factory=list)


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
    cumulative, per_report = [], []
    for report in reports:
        asked: set[str] = set()
        hits = searched = 0
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
                hits += int(outcome.effective)
                searched += 1
        audit.tick()
        cumulative.append(int(audit.detected.sum()) - len(audit.known))
        per_report.append({"report_id": report, "detections": cumulative[-1] - (cumulative[-2] if len(cumulative) > 1
                                                                                 else 0),
                           "hit_queries": hits, "queries": searched})
    return DayResult(
        detections=cumulative[-1] if cumulative else 0,
        hit_queries=sum(r["hit_queries"] for r in by_source.values()),
        queries=sum(r["queries"] for r in by_source.values()),
        by_source=by_source,
        cumulative=cumulative,
        per_report=per_report,
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
        "per_report": {"base": alone.per_report, "combined": together.per_report},
    }
