"""Policies x retrieval modes x rankers on a snapshot's test reports: the paper's Table 5 columns
plus distinct toxic found and time per query; a JSON file, a Markdown table and a plot.

    python -m benchmarks.modes --snapshot snapshots/demo-zh
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import (
    describe_run,
    markdown_table,
    parse_args,
    pyplot,
    save_figure_atomic,
)
from benchmarks._comparisons import difference_cells, rate_columns, table_comparisons
from qx_env.files import write_text_atomic
from qx_env.flags import SpecList, name_list
from qx_env.specs import format_spec, split_spec
from qx_env.stats import RESAMPLES, SEED

#: Retrieval mode names, as ``qx search --mode`` and ``qx play --mode`` take them (``indexes.MODES``
#: and the search system's ``hybrid``; a test keeps them equal without importing the indexes here).
MODE_NAMES = ("keyword", "embedding", "graph", "hybrid")
#: Keyword match rules (``--match`` elsewhere; ``indexes.RULES``), a mode's ``match`` option.
MATCHES = ("exact", "bm25")
#: Modes that search the keyword index, so take a match rule.
KEYWORD_MODES = ("keyword", "hybrid")
#: The default grid: every mode, keyword also with bm25 matching.
MODES = ("keyword", "keyword:match=bm25", "embedding", "graph", "hybrid")


@dataclass
class Args:
    snapshot: str = "snapshots/demo-zh"
    """Snapshot directory."""
    policies: SpecList = ("annotation", "random-span", "tfidf", "ngram", "textrank", "oracle")
    """Policy specs, comma-separated; a spec's own options stay with it. The first is the reference of the
    paired comparisons; random-span (the floor) and oracle (the ceiling, reading labels) frame the rest."""
    modes: SpecList = MODES
    """Retrieval modes (keyword, embedding, graph, hybrid), comma-separated; keyword:match=bm25 for bm25."""
    rankers: SpecList = ("retrieval",)
    """Ranker specs, comma-separated, e.g. retrieval,risk,lm:path=M,kind=judge."""
    split: tuple[str, ...] = ("test",)
    """Report split(s) whose reports are explored, comma-separated."""
    k: int = 100
    """Items exposed per query."""
    out: str = "reports/bench/modes"
    """Output directory: results.json, table.md, modes.png."""
    build_missing: bool = False
    """Build the indexes the modes and policies need that are missing, damaged or built for another snapshot."""
    ray: bool = False
    """Run each evaluation's searches as Ray tasks (a local cluster on loopback, or --ray-address): the same rows."""
    ray_address: str = ""
    """An existing Ray cluster, e.g. 10.0.0.5:6379 (implies --ray; the snapshot on storage every node sees)."""


@dataclass
class Extracted:
    """One policy's queries per report and its extraction time."""

    queries: dict[str, list[str]]
    seconds_per_report: float


def extract_queries(snapshot, spec: str, split: str | Sequence[str] = "test") -> Extracted:
    """Run the policy ``spec`` on the reports of ``split``: split names, or one name (see
    :func:`qx_env.flags.name_list`)."""
    from policies import make_policy

    reports = snapshot.reports_in(split)
    ids = reports.column("report_id").to_pylist()
    started = time.perf_counter()
    extracted = make_policy(spec, snapshot).extract(snapshot.report_texts(reports))
    return Extracted(dict(zip(ids, extracted)), (time.perf_counter() - started) / max(1, len(ids)))


def parse_mode(spec: str) -> tuple[str, str]:
    """``(mode, match)`` of a mode spec: a name of :data:`MODE_NAMES`, for keyword and hybrid with an
    optional ``:match=exact|bm25`` (``keyword:match=bm25``)."""
    from qx_env.errors import QxError

    name, options = split_spec(spec)
    if name not in MODE_NAMES:
        raise QxError(f"unknown mode {name!r}; choose from {', '.join(MODE_NAMES)} "
                      f"({' and '.join(KEYWORD_MODES)} take :match={'|'.join(MATCHES)})")
    match = "exact"
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        if key != "match" or value not in MATCHES:
            raise QxError(f"mode {spec!r}: the one option is match={'|'.join(MATCHES)}, got {option!r}")
        if name not in KEYWORD_MODES:
            raise QxError(f"mode {spec!r}: match applies to the keyword index ({', '.join(KEYWORD_MODES)} only)")
        match = value
    return name, match


def mode_label(name: str, match: str) -> str:
    """The canonical spec of a mode: ``keyword``, ``keyword:match=bm25`` (exact is the default)."""
    return name if match == "exact" else format_spec(name, match=match)


def parse_modes(specs: Sequence[str]) -> list[str]:
    """Canonical mode specs (see :func:`parse_mode`), each checked, duplicates dropped."""
    from qx_env.errors import QxError

    modes = [mode_label(*parse_mode(m)) for m in specs]
    if not modes:
        raise QxError(f"no mode given; choose from {', '.join(MODE_NAMES)}")
    return list(dict.fromkeys(modes))


def search_system(snapshot, mode: str, ranker: str = "retrieval", k: int = 100, retrieval_cache=None):
    """The search system of a mode spec (``keyword``, ``keyword:match=bm25``, ``hybrid``, ...); systems given
    one ``retrieval_cache`` retrieve a query in a mode once (see :class:`qx_env.search.SearchSystem`)."""
    from qx_env.search import SearchSystem

    name, match = parse_mode(mode)
    return SearchSystem(snapshot, modes=name, k=k, ranker=ranker, match=match, retrieval_cache=retrieval_cache)


def evaluate_grid(snapshot, extracted: Mapping[str, Extracted], modes: list[str], rankers: list[str],
                  k: int = 100, ray: bool = False, ray_address: str = "") -> list[dict]:
    """Table 5 row of every policy's queries in every mode x ranker (static, reported items down),
    with its per-report figures (each report's campaign among them) and 95% bootstrap intervals over
    campaigns of the query hit rate and the precision. With ``ray`` (or ``ray_address``) each evaluation's searches run as Ray tasks
    (:func:`qx_env.metrics.evaluate_queries`): the same rows but for the timings."""
    from tqdm.auto import tqdm

    from qx_env.metrics import evaluate_queries

    reports = snapshot.reports
    campaigns = dict(zip(reports.column("report_id").to_pylist(), snapshot.report_campaigns(reports)))
    rows = []
    for mode, ranker in tqdm([(m, r) for m in modes for r in rankers], desc="modes x rankers"):
        system = search_system(snapshot, mode, ranker, k)
        for name, policy in extracted.items():
            started = time.perf_counter()
            evaluation = evaluate_queries(system, policy.queries, ray=ray, ray_address=ray_address)
            elapsed = time.perf_counter() - started
            metrics, per_report = evaluation.metrics, evaluation.per_report(campaigns)
            rates = rate_columns(per_report)
            rows.append({"policy": name, "mode": mode, "ranker": ranker, **metrics.as_dict(),
                         "campaigns": rates["campaigns"], "singletons": rates["singletons"],
                         # to the rates' own 4 decimals (rounding keeps low <= rate <= high)
                         **{f"{r}_ci": tuple(round(x, 4) for x in rates[f"{r}_ci"]) for r in ("query_hit_rate", "precision")},
                         "ms_per_query": round(1000 * elapsed / max(1, metrics.queries), 2),
                         "extract_ms_per_report": round(1000 * policy.seconds_per_report, 2),
                         "per_report": per_report})
    return rows


def silent_policies(extracted: Mapping[str, Extracted]) -> list[str]:
    """Policies that proposed no query for any report (e.g. ``annotation`` on a composed snapshot,
    whose reports carry no auditor annotations)."""
    return [name for name, policy in extracted.items() if not any(policy.queries.values())]


def _with_interval(row: dict, metric: str) -> str:
    value, interval = row.get(metric, 0.0), row.get(f"{metric}_ci")
    return f"{value:.3f}" + (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")


def markdown(rows: list[dict], k: int) -> str:
    """The grid as a Markdown table (rates with their 95% bootstrap intervals over campaigns)."""
    header = ["policy", "mode", "ranker", f"hit@{k}", "distinct", "# queries", "# effective",
              "query hit rate [95% CI]", "chance hit rate", "precision [95% CI]", "base rate", "exposed/query",
              "ms/query"]
    return markdown_table(header, [[r["policy"], r["mode"], r["ranker"], r[f"hit@{k}"], r["distinct_hits"],
                                    r["queries"], r["effective_queries"], _with_interval(r, "query_hit_rate"),
                                    r.get("chance_hit_rate", "-"), _with_interval(r, "precision"),
                                    f"{r['base_rate']:.4f}" if "base_rate" in r else "-",
                                    f"{r.get('exposed', 0) / max(1, r['queries']):.1f}",
                                    f"{r['ms_per_query']:.2f}"] for r in rows])


@dataclass
class Series:
    """One bar per policy: a mode x ranker's values, their 95% intervals and the chance line."""

    label: str
    values: list[float]
    low: list[float]
    high: list[float]
    chance: list[float]


@dataclass
class Panel:
    """One axis of the figure: a metric of every series, with its labels."""

    metric: str
    ylabel: str
    chance_label: str
    series: list[Series]


@dataclass
class BarFigure:
    """What :func:`plot` draws: the title, the policies (x groups) and the panels."""

    title: str
    groups: list[str]
    panels: list[Panel]


#: Panels: row metric -> (y label, row key of its chance line, what the chance line is).
PANELS = {
    "query_hit_rate": ("query hit rate (effective / queries)", "chance_hit_rate",
                       "chance: as many random live items"),
    "precision": ("precision (toxic / exposed items)", "base_rate", "chance: the base rate (toxic / live items)"),
}


def series_label(mode: str, ranker: str, modes: list[str], rankers: list[str]) -> str:
    """A legend entry: the mode, with the ranker only when the rows have several rankers."""
    if len(rankers) == 1:
        return mode
    return ranker if len(modes) == 1 else f"{mode} / {ranker}"


def figure_data(rows: list[dict], title: str) -> BarFigure:
    """The series, labels and title :func:`plot` draws from the grid's rows."""
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    configs = list(dict.fromkeys((r["mode"], r["ranker"]) for r in rows))
    modes, rankers = list(dict.fromkeys(m for m, _ in configs)), list(dict.fromkeys(r for _, r in configs))
    by_key = {(r["policy"], r["mode"], r["ranker"]): r for r in rows}
    panels = []
    for metric, (ylabel, chance_key, chance_label) in PANELS.items():
        series = []
        for mode, ranker in configs:
            chosen = [by_key[p, mode, ranker] for p in policies]
            series.append(Series(series_label(mode, ranker, modes, rankers), [r[metric] for r in chosen],
                                 [r[f"{metric}_ci"][0] for r in chosen], [r[f"{metric}_ci"][1] for r in chosen],
                                 [r.get(chance_key, 0.0) for r in chosen]))
        panels.append(Panel(metric, ylabel, chance_label, series))
    return BarFigure(title, policies, panels)


def plot(data: BarFigure, path: Path) -> Path:
    """Draw :func:`figure_data`'s figure: bars with 95% bootstrap error bars, black ticks at chance."""
    import numpy as np

    plt = pyplot()
    groups, count = data.groups, len(data.panels[0].series)
    figure, axes = plt.subplots(1, len(data.panels), figsize=(max(12, 1.7 * len(groups) * 2), 5.5))
    width = 0.8 / count
    for panel, axis in zip(data.panels, axes):
        for i, series in enumerate(panel.series):
            x = np.arange(len(groups)) + i * width
            values = np.asarray(series.values)
            # a percentile interval may sit beside a skewed point; the bar never draws below zero length
            errors = [np.maximum(0, values - series.low), np.maximum(0, np.asarray(series.high) - values)]
            axis.bar(x, values, width, yerr=errors, capsize=3, error_kw={"linewidth": 1}, label=series.label)
            axis.scatter(x, series.chance, marker="_", s=160, color="black", zorder=3,
                         label=panel.chance_label if i == 0 else None)
        axis.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups)
        axis.set_ylabel(panel.ylabel, fontsize=12)
        axis.tick_params(labelsize=11)
        axis.legend(*_chance_handle(axis), loc="upper right", fontsize=10, frameon=False)
    handles, labels = axes[0].get_legend_handles_labels()
    bars = [(h, label) for h, label in zip(handles, labels) if not label.startswith("chance")]
    figure.legend([h for h, _ in bars], [label for _, label in bars], loc="upper center",
                  bbox_to_anchor=(0.5, 0.91), ncol=min(count, 5), fontsize=11, frameon=False)
    figure.suptitle(data.title, y=0.99, fontsize=12)
    figure.tight_layout(rect=(0, 0, 1, 0.86))
    return save_figure_atomic(figure, path)


def _chance_handle(axis) -> tuple[list, list]:
    """The axis's chance-line legend entry alone (the bars share the figure's legend)."""
    chosen = [(h, label) for h, label in zip(*axis.get_legend_handles_labels()) if label.startswith("chance")]
    return [h for h, _ in chosen], [label for _, label in chosen]


def report_count(rows: list[dict]) -> int:
    """The number of reports the grid's queries came from."""
    return len(rows[0]["per_report"]["report_id"]) if rows else 0


def comparisons(rows: list[dict]) -> list[dict]:
    """Paired comparisons of the grid's first ranker: each policy against the first policy within each mode,
    each mode against the first mode for each policy (:func:`benchmarks._comparisons.table_comparisons`)."""
    if not rows:
        return []
    ranker = rows[0]["ranker"]
    chosen = [r for r in rows if r["ranker"] == ranker]
    policies = list(dict.fromkeys(r["policy"] for r in chosen))
    modes = list(dict.fromkeys(r["mode"] for r in chosen))
    cells = {(r["policy"], r["mode"]): (r["per_report"], None) for r in chosen}
    return table_comparisons(cells, policies, modes, policies[0], modes[0])


def comparisons_table(made: list[dict]) -> str:
    """The paired comparisons as a Markdown table."""
    return markdown_table(["within", "compared", "against", "difference in query hit rate [95% CI]", "p (Holm)",
                           "detectable"], [[c["within"], c["compared"], c["against"], *difference_cells(c)] for c in made])


def plot_title(snapshot: str, split: str | Sequence[str], k: int, rows: list[dict]) -> str:
    """The plot's context: snapshot, split(s), k, the number of reports and each policy's queries."""
    queries = ", ".join(f"{p} {q}" for p, q in dict.fromkeys((r["policy"], r["queries"]) for r in rows))
    return (f"{snapshot}, {','.join(name_list(split))} split, k={k}, {report_count(rows)} reports; queries: {queries}\n"
            f"error bars: 95% bootstrap over campaigns ({RESAMPLES} resamples, seed {SEED})")


def write_results(rows: list[dict], out: Path, args, k: int, split_rule: str = "") -> str:
    """results.json, table.md and modes.png under ``out``; returns the table."""
    made = comparisons(rows)
    first = rows[0] if rows else {}
    table = (markdown(rows, k) + f"\n\n{report_count(rows)} reports in {first.get('campaigns', 0)} campaigns "
             f"({first.get('singletons', 0)} singletons), split by {split_rule or 'an unrecorded rule'}; paired "
             f"comparisons on them (bootstrap over campaigns, sign-flip p, Holm across the table; detectable: the "
             f"minimal detectable difference at 80% power):\n\n" + comparisons_table(made))
    write_text_atomic(out / "results.json", json.dumps({"rows": rows, "comparisons": made, "split_rule": split_rule,
                                                        **describe_run(args)}, indent=2, ensure_ascii=False))
    write_text_atomic(out / "table.md", table + "\n")
    plot(figure_data(rows, plot_title(args.snapshot, args.split, k, rows)), out / "modes.png")
    return table


def require_reports(snapshot, split: str | Sequence[str], where: str) -> None:
    """Refuse, in one line, a split that holds no report: nothing would be explored (every row 0.000)."""
    from qx_env.errors import QxError
    from qx_env.snapshot import SPLITS

    names = name_list(split)
    if snapshot.reports_in(names).num_rows:
        return
    counts = snapshot.reports.column("split").to_pylist()
    held = ", ".join(f"{name} {counts.count(name):,}" for name in SPLITS)
    some = [name for name in SPLITS if counts.count(name)]
    fix = (f"pass --split {','.join(some)}, or re-split with `qx corpus split {where}`" if some
           else "the snapshot has no report at all; compose it with more toxic items or a higher --report-share")
    raise QxError(f"{where}: the {','.join(names)} split holds 0 reports (its reports: {held}); {fix}")


def main(args: Args) -> dict:
    from indexes import ensure_indexes
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(args.snapshot)
    require_reports(snapshot, args.split, args.snapshot)  # before any index is opened or built
    modes = parse_modes(args.modes)
    if args.ray or args.ray_address:
        from qx_env.distributed import start_ray

        start_ray(args.ray_address)  # an unreachable cluster fails before any work
    # every index the grid needs (the policies read keyword counts), refused or built at once, before any work
    ensure_indexes(snapshot, ["keyword", *(parse_mode(m)[0] for m in modes)], build=args.build_missing)
    extracted = {spec: extract_queries(snapshot, spec, args.split) for spec in args.policies}
    for name in silent_policies(extracted):
        print(f"note: policy {name!r} proposed no queries on {args.snapshot} ({','.join(args.split)} split)"
              + ("; composed snapshots carry no auditor annotations" if name == "annotation" else ""),
              file=sys.stderr)
    rows = evaluate_grid(snapshot, extracted, modes, list(args.rankers), args.k, args.ray, args.ray_address)
    out = Path(args.out)
    print(write_results(rows, out, args, args.k, snapshot.split_rule))
    print(f"\nwrote {out / 'results.json'}, {out / 'table.md'} and {out / 'modes.png'}")
    return {"rows": rows}


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
