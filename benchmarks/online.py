"""A simulated day online, the paper's Table 7: human queries alone vs human + model queries.

The day's reports arrive in a seeded order. For each report the human (auditors' annotated)
queries are searched first, then the model's, as in the paper's online service; every toxic item
a query exposes is detected and, under removal dynamics, taken down for the rest of the day. A
model query equal to a human one is counted as the human's (``shared``). Compared with the human
queries alone, the figures are the toxic item detection increment and the hit query increment,
plus the model queries' online hit rate (the paper's query acceptance rate needs an auditor; the
hit rate is what it relates to). Writes results.json, table.md and online.png (cumulative
detections over the day).

    python -m benchmarks.online --snapshot snapshots/demo-zh --models tfidf,textrank
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import (
    describe_run,
    markdown_table,
    parse_args,
    pyplot,
    save_figure_atomic,
)
from benchmarks.modes import extract_queries, search_system
from qx_env.files import write_text_atomic
from qx_env.flags import SpecList


@dataclass
class Args:
    snapshot: str = "snapshots/demo-zh"
    """Snapshot directory."""
    human: str = "annotation"
    """The base source (the paper's Human): a policy spec; annotation is the auditors' phrases."""
    models: SpecList = ("tfidf",)
    """Policy specs whose queries follow the base source's, one day each, comma-separated."""
    split: tuple[str, ...] = ("test",)
    """Report split(s) of the day, comma-separated."""
    mode: str = "keyword"
    """Retrieval mode: keyword, embedding, graph or hybrid (keyword:match=bm25 for bm25 matching)."""
    ranker: str = "retrieval"
    """Ranker spec of the search system."""
    k: int = 100
    """Items exposed per query."""
    dynamics: str = "removal"
    """removal, or delayed (with --delay)."""
    delay: int = 0
    """Delayed dynamics: steps between an item's detection and its removal."""
    recall: float = 1.0
    """Chance the auditor catches an exposed toxic item (0-1)."""
    repost_rate: float = 0.0
    """Chance a removed campaign item is followed by a held-back variant (0-1)."""
    seed: int = 0
    """Seed of the day's report order, the auditor's misses and re-posting."""
    out: str = "reports/bench/online"
    """Output directory: results.json, table.md, online.png."""


def base_label(spec: str) -> str:
    """The base source's name in the curves: ``human (annotation)`` for the auditors' phrases, else
    the policy spec given as the base (what was actually used)."""
    return "human (annotation)" if spec == "annotation" else f"{spec} (as human)"


def day_order(queries: Mapping[str, list[str]], seed: int) -> dict[str, list[str]]:
    """The same queries with the reports in a seeded random order (the day's arrivals)."""
    import numpy as np

    reports = sorted(queries)
    return {reports[i]: queries[reports[i]] for i in np.random.default_rng(seed).permutation(len(reports))}


#: Table 7's two counts, each compared as a relative increment.
INCREMENT_COUNTS = ("detections", "hit_queries")


def increment_columns(snapshot, result: dict) -> dict[str, list]:
    """Per-report columns of :func:`qx_env.metrics.online_increment`'s day: each report of the combined day
    (every report of the human-only day and the model's), its campaign, and its detections and hit queries
    in the human-only day (``base_*``; 0 where it had no human query) and in the combined day (``combined_*``)."""
    campaign_of = dict(zip(snapshot.reports.column("report_id").to_pylist(), snapshot.report_campaigns()))
    base = {row["report_id"]: row for row in result["per_report"]["base"]}
    combined = result["per_report"]["combined"]
    columns = {"report_id": [r["report_id"] for r in combined],
               "campaign": [campaign_of[r["report_id"]] for r in combined]}
    for count in INCREMENT_COUNTS:
        columns[f"base_{count}"] = [base.get(r["report_id"], {}).get(count, 0) for r in combined]
        columns[f"combined_{count}"] = [r[count] for r in combined]
    return columns


def increment_comparisons(columns: Mapping[str, list], worlds: list[str] | None = None) -> dict:
    """Each count's relative increment with its campaign bootstrap interval, sign-flip p-value and minimal
    detectable difference (:func:`qx_env.stats.relative_increment`; worlds as strata when given)."""
    from qx_env.stats import Campaigns, relative_increment

    campaigns = Campaigns.of(columns["campaign"], worlds)
    return {count: relative_increment(columns[f"base_{count}"], columns[f"combined_{count}"], campaigns,
                                      rate=f"{count}_increment") for count in INCREMENT_COUNTS}


def increment_row(name: str, result: dict, snapshot=None) -> dict:
    """One Table 7 row from :func:`qx_env.metrics.online_increment`'s result; with the ``snapshot``, each
    increment's interval over campaigns (``*_increment_ci``), p-value and detectable difference."""
    model = result["by_source"]["model"]
    intervals = {}
    if snapshot is not None:
        for count, c in increment_comparisons(increment_columns(snapshot, result)).items():
            key = "detection" if count == "detections" else "hit_query"
            intervals.update({f"{key}_increment_ci": [c.low, c.high], f"{key}_increment_p": c.p_value,
                              f"{key}_increment_mdd": c.mdd, "campaigns": c.campaigns, "reports": c.reports})
    return {
        "model": name,
        "human_detections": result["detections"]["base"],
        "combined_detections": result["detections"]["combined"],
        "detection_increment": result["detection_increment"],
        "human_hit_queries": result["hit_queries"]["base"],
        "combined_hit_queries": result["hit_queries"]["combined"],
        "hit_query_increment": result["hit_query_increment"],
        "model_queries": model["queries"],
        "shared_with_human": model["shared"],
        "model_hit_rate": model["hit_queries"] / model["queries"] if model["queries"] else 0.0,
        **intervals,
    }


def run_day(system, human: Mapping[str, list[str]], models: Mapping[str, Mapping[str, list[str]]], args: Args,
            ) -> tuple[list[dict], dict[str, list[int]]]:
    """Table 7 rows (one per model, with their intervals over the system's snapshot's campaigns) and the
    cumulative detections after each report of each day, keyed by the base source's :func:`base_label` and
    ``"<base> + <model>"``."""
    from tqdm.auto import tqdm

    from qx_env.metrics import online_increment
    from qx_env.search import Dynamics

    dynamics = Dynamics(kind=args.dynamics, delay=args.delay, recall=args.recall, repost_rate=args.repost_rate)
    ordered_human = day_order(human, args.seed)
    base = base_label(args.human)
    rows, cumulative = [], {}
    for name, queries in tqdm(models.items(), desc="online days"):
        result = online_increment(system, ordered_human, day_order(queries, args.seed), dynamics, seed=args.seed)
        rows.append(increment_row(name, result, system.snapshot))
        cumulative.setdefault(base, result["cumulative"]["base"])
        cumulative[f"{base} + {name}"] = result["cumulative"]["combined"]
    return rows, cumulative


def _percent(value: float) -> str:
    return "n/a (human found none)" if math.isinf(value) else f"{100 * value:+.1f}%"


def _increment(row: dict, key: str) -> str:
    """An increment with its 95% interval over campaigns, p-value and detectable difference when measured."""
    value = _percent(row[f"{key}_increment"])
    if f"{key}_increment_ci" not in row or math.isinf(row[f"{key}_increment"]):
        return value
    low, high = row[f"{key}_increment_ci"]
    return (f"{value} [{100 * low:+.1f}%, {100 * high:+.1f}%], p {row[f'{key}_increment_p']:.4f}, "
            f"detectable {100 * row[f'{key}_increment_mdd']:.1f}%")


def markdown(rows: list[dict]) -> str:
    """Table 7 as Markdown: each increment with its 95% interval over campaigns, p-value and minimal
    detectable difference, and the test set it was measured on."""
    header = ["model", "detections: human / + model", "detection increment [95% CI]", "hit queries: human / + model",
              "hit query increment [95% CI]", "model queries (shared with human)", "model online hit rate",
              "test set"]
    return markdown_table(header, [[r["model"], f"{r['human_detections']} / {r['combined_detections']}",
                                    _increment(r, "detection"),
                                    f"{r['human_hit_queries']} / {r['combined_hit_queries']}",
                                    _increment(r, "hit_query"),
                                    f"{r['model_queries']} ({r['shared_with_human']})", r["model_hit_rate"],
                                    f"{r['reports']} reports, {r['campaigns']} campaigns" if "reports" in r else "-"]
                                   for r in rows])


@dataclass
class LineFigure:
    """What :func:`plot` draws: one line per day, the base source's first (dashed)."""

    title: str
    xlabel: str
    ylabel: str
    lines: dict[str, list[int]]
    xticks: list[int]
    base: str


def integer_ticks(count: int, most: int = 10) -> list[int]:
    """At most about ``most`` whole-number ticks from 1 to ``count`` (reports come in whole numbers)."""
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=most, steps=[1, 2, 5, 10], integer=True, min_n_ticks=1).tick_values(1, max(1, count))
    return sorted({int(t) for t in ticks if 1 <= t <= count}) or [1]


def figure_data(cumulative: Mapping[str, list[int]], title: str) -> LineFigure:
    """The lines, ticks, labels and title :func:`plot` draws from :func:`run_day`'s curves."""
    count = len(next(iter(cumulative.values()), []))
    return LineFigure(title, "reports handled during the day", "toxic items detected (cumulative)",
                      dict(cumulative), integer_ticks(count), next(iter(cumulative), ""))


def plot(data: LineFigure, path: Path) -> Path:
    """Draw :func:`figure_data`'s figure: cumulative distinct toxic detections after each report."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(8, 4.8))
    for label, values in data.lines.items():
        base = label == data.base
        axis.plot(range(1, len(values) + 1), values, label=label, linewidth=2 if base else 1.5,
                  linestyle="--" if base else "-")
    axis.set_xticks(data.xticks)
    axis.set_xlabel(data.xlabel, fontsize=12)
    axis.set_ylabel(data.ylabel, fontsize=12)
    axis.tick_params(labelsize=11)
    axis.set_title(data.title, fontsize=11)
    axis.legend(fontsize=10)
    figure.tight_layout()
    return save_figure_atomic(figure, path)


def plot_title(args: Args, cumulative: Mapping[str, list[int]]) -> str:
    """The day's context: snapshot, split, mode, dynamics and the number of reports."""
    reports = len(next(iter(cumulative.values()), []))
    return (f"a simulated day: {args.snapshot}, {','.join(args.split)} split, {reports} reports\n"
            f"{args.mode}, k={args.k}, {args.dynamics} dynamics, seed {args.seed}")


def write_results(rows: list[dict], cumulative: Mapping[str, list[int]], out: Path, args: Args) -> str:
    """results.json, table.md and online.png under ``out``; returns the table."""
    table = markdown(rows)
    finite = [{k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in r.items()} for r in rows]
    write_text_atomic(out / "results.json", json.dumps({"rows": finite, "cumulative": cumulative,
                                                       **describe_run(args)}, indent=2, ensure_ascii=False))
    write_text_atomic(out / "table.md", table + "\n")
    plot(figure_data(cumulative, plot_title(args, cumulative)), out / "online.png")
    return table


def main(args: Args) -> dict:
    from qx_env.errors import QxError
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(args.snapshot)
    system = search_system(snapshot, args.mode, args.ranker, args.k)
    specs = list(args.models)
    if not specs:
        raise QxError("give at least one model policy with --models (e.g. tfidf)")
    human = extract_queries(snapshot, args.human, args.split).queries
    if not any(human.values()):
        print(f"note: the human source {args.human!r} proposed no queries on {args.snapshot} ({','.join(args.split)} split)"
              "; composed snapshots carry no auditor annotations: pass --human POLICY to use a policy instead",
              file=sys.stderr)
    models = {spec: extract_queries(snapshot, spec, args.split).queries for spec in specs}
    rows, cumulative = run_day(system, human, models, args)
    out = Path(args.out)
    print(write_results(rows, cumulative, out, args))
    print(f"\nwrote {out / 'results.json'}, {out / 'table.md'} and {out / 'online.png'}")
    return {"rows": rows, "cumulative": cumulative}


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
