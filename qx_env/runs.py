"""Evaluation runs as a comparison reads them: the JSON of ``qx eval --json`` (its row, its context and
its per-report figures), checked to be comparable, and compared paired over campaigns (:mod:`qx_env.stats`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from qx_env.errors import QxError
from qx_env.jsonl import read_json_object
from qx_env.stats import RATES, Campaigns, Comparison, paired_comparison

#: Context entries two runs must share to be compared report by report.
MUST_MATCH = ("snapshot", "split", "split_rule", "modes", "match", "k", "candidates", "ranker", "dynamics")
#: Per-report columns a run must carry.
PER_REPORT_COLUMNS = ("report_id", "campaign", "queries", "effective_queries", "exposed", "hits")


@dataclass(frozen=True)
class Run:
    """One evaluation: where it was read from, what produced the queries, its context and per-report figures."""

    path: str
    source: str
    context: dict
    per_report: dict[str, list]


def describe_source(source: Mapping) -> str:
    """A run's query source in words: ``policy tfidf``, ``annotations``, ``queries FILE``."""
    if source.get("policy"):
        return f"policy {source['policy']}"
    if source.get("annotations"):
        return "annotations"
    return f"queries {source.get('queries', '?')}"


def load_run(path: str | Path) -> Run:
    """Read a ``qx eval --json`` file; an unreadable or incomplete one is refused in one line naming it."""
    path = Path(path)
    if not path.is_file():
        raise QxError(f"{path}: no such results file (write one with qx eval SNAPSHOT ... --json > FILE)")
    raw = read_json_object(path, "results file")
    if not isinstance(raw.get("context"), dict):
        raise QxError(f"{path}: not a qx eval --json result (no 'context' object)")
    per_report = raw.get("per_report")
    if not isinstance(per_report, dict):
        raise QxError(f"{path}: has no per-report figures ('per_report'); rerun qx eval ... --json with this "
                      f"version of qx-env")
    missing = [c for c in PER_REPORT_COLUMNS if not isinstance(per_report.get(c), list)]
    if missing:
        raise QxError(f"{path}: per_report lacks column(s) {', '.join(missing)}")
    lengths = {c: len(per_report[c]) for c in PER_REPORT_COLUMNS}
    if len(set(lengths.values())) != 1:
        raise QxError(f"{path}: per_report columns differ in length ({lengths})")
    return Run(str(path), describe_source(raw["context"].get("source", {})), raw["context"], per_report)


def check_comparable(a: Run, b: Run) -> None:
    """Refuse, naming the first difference, two runs that are not on the same reports of the same world."""
    for key in MUST_MATCH:
        if a.context.get(key) != b.context.get(key):
            raise QxError(f"cannot compare {a.path} with {b.path}: their {key} differs ({a.context.get(key)!r} "
                          f"against {b.context.get(key)!r}); compare runs on the same snapshot, split and modes")
    left, right = set(a.per_report["report_id"]), set(b.per_report["report_id"])
    if left != right:
        raise QxError(f"cannot compare {a.path} with {b.path}: they scored different reports ({len(left - right)} "
                      f"only in the first, {len(right - left)} only in the second)")


def paired_columns(a: Mapping[str, list], b: Mapping[str, list]) -> dict[str, list]:
    """``b``'s per-report columns in ``a``'s report order."""
    at = {report: i for i, report in enumerate(b["report_id"])}
    order = [at[report] for report in a["report_id"]]
    return {name: [values[i] for i in order] for name, values in b.items()}


def compare_per_report(a: Mapping[str, list], b: Mapping[str, list], rates: Sequence[str] = tuple(RATES),
                       worlds: Sequence[str] | None = None) -> list[Comparison]:
    """Paired comparisons A - B of per-report columns (same reports, any order in ``b``), one per rate,
    resampling campaigns (within ``worlds``, a world name per report of ``a``, when there are several)."""
    unknown = [r for r in rates if r not in RATES]
    if unknown:
        raise QxError(f"unknown rate {unknown[0]!r}; choose from {', '.join(RATES)}")
    b = paired_columns(a, b)
    campaigns = Campaigns.of(a["campaign"], worlds)
    return [paired_comparison((a[RATES[r].numerator], a[RATES[r].denominator]),
                              (b[RATES[r].numerator], b[RATES[r].denominator]), campaigns, rate=r) for r in rates]


def compare_runs(a: Run, b: Run, rates: Sequence[str] = tuple(RATES)) -> list[Comparison]:
    """Paired comparisons A - B of two comparable runs (:func:`check_comparable`), one per rate."""
    check_comparable(a, b)
    return compare_per_report(a.per_report, b.per_report, rates)
