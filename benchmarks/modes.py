"""Policies x retrieval modes x rankers on a snapshot's test reports: the paper's Table 5 columns
plus distinct toxic found and time per query; a JSON file, a Markdown table and a plot.

    python -m benchmarks.modes --snapshot snapshots/demo-zh
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import (
    describe_run,
    markdown_table,
    parse_args,
    pyplot,
    save_figure_atomic,
    split_specs,
)
from qx_env.files import write_text_atomic

#: Retrieval configurations: name -> (modes, keyword match rule).
MODES = {
    "keyword-exact": (("keyword",), "exact"),
    "keyword-bm25": (("keyword",), "bm25"),
    "embedding": (("embedding",), "exact"),
    "graph": (("graph",), "exact"),
    "hybrid": (("keyword", "embedding", "graph"), "exact"),
}


@dataclass
class Args:
    snapshot: str = "snapshots/demo-zh"
    policies: str = "annotation,tfidf,ngram,textrank"  # policy specs; a spec's own options stay with it
    modes: str = ",".join(MODES)
    rankers: str = "retrieval"  # ranker specs, e.g. retrieval,risk,lm:path=M,kind=judge
    split: str = "test"
    k: int = 100
    out: str = "reports/bench/modes"
    build_missing: bool = False
    """Build the indexes the modes and policies need that are missing, damaged or built for another snapshot."""


@dataclass
class Extracted:
    """One policy's queries per report and its extraction time."""

    queries: dict[str, list[str]]
    seconds_per_report: float


def extract_queries(snapshot, spec: str, split: str = "test") -> Extracted:
    """Run the policy ``spec`` on the split's reports (comma-separated splits)."""
    from policies import make_policy

    reports = snapshot.reports_in(split.split(","))
    ids = reports.column("report_id").to_pylist()
    started = time.perf_counter()
    extracted = make_policy(spec, snapshot).extract(snapshot.report_texts(reports))
    return Extracted(dict(zip(ids, extracted)), (time.perf_counter() - started) / max(1, len(ids)))


def parse_modes(text: str) -> list[str]:
    """Retrieval configuration names from a comma-separated list, each one of :data:`MODES`."""
    from qx_env.errors import QxError

    modes = [m for m in text.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise QxError(f"unknown mode(s) {unknown or '(none given)'}; choose from {', '.join(MODES)}")
    return modes


def search_system(snapshot, mode: str, ranker: str = "retrieval", k: int = 100):
    """The search system of a retrieval configuration named in :data:`MODES`."""
    from qx_env.errors import QxError
    from qx_env.search import SearchSystem

    if mode not in MODES:
        raise QxError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    retrieval, match = MODES[mode]
    return SearchSystem(snapshot, modes=retrieval, k=k, candidates=max(k, 1000), ranker=ranker, match=match)


def evaluate_grid(snapshot, extracted: Mapping[str, Extracted], modes: list[str], rankers: list[str],
                  k: int = 100) -> list[dict]:
    """Table 5 row of every policy's queries in every mode x ranker (static, reported items down)."""
    from tqdm.auto import tqdm

    from qx_env.metrics import evaluate_queries

    rows = []
    for mode, ranker in tqdm([(m, r) for m in modes for r in rankers], desc="modes x rankers"):
        system = search_system(snapshot, mode, ranker, k)
        for name, policy in extracted.items():
            started = time.perf_counter()
            metrics = evaluate_queries(system, policy.queries).metrics
            elapsed = time.perf_counter() - started
            rows.append({"policy": name, "mode": mode, "ranker": ranker, **metrics.as_dict(),
                         "ms_per_query": round(1000 * elapsed / max(1, metrics.queries), 2),
                         "extract_ms_per_report": round(1000 * policy.seconds_per_report, 2)})
    return rows


def silent_policies(extracted: Mapping[str, Extracted]) -> list[str]:
    """Policies that proposed no query for any report (e.g. ``annotation`` on a composed snapshot,
    whose reports carry no auditor annotations)."""
    return [name for name, policy in extracted.items() if not any(policy.queries.values())]


def markdown(rows: list[dict], k: int) -> str:
    """The grid as a Markdown table."""
    header = ["policy", "mode", "ranker", f"hit@{k}", "distinct", "# queries", "# effective", "query hit rate",
              "chance hit rate", "precision", "exposed/query", "ms/query"]
    return markdown_table(header, [[r["policy"], r["mode"], r["ranker"], r[f"hit@{k}"], r["distinct_hits"],
                                    r["queries"], r["effective_queries"], r["query_hit_rate"],
                                    r.get("chance_hit_rate", "-"), r.get("precision", "-"),
                                    f"{r.get('exposed', 0) / max(1, r['queries']):.1f}",
                                    f"{r['ms_per_query']:.2f}"] for r in rows])


def plot(rows: list[dict], path: Path, k: int, title: str = "") -> Path:
    """Query hit rate (black ticks: the chance line, the hit rate of as many random live items)
    and precision (toxic share of the exposed items) per policy, one bar per mode x ranker."""
    import numpy as np

    plt = pyplot()
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    configs = list(dict.fromkeys((r["mode"], r["ranker"]) for r in rows))
    rankers = {ranker for _, ranker in configs}
    figure, axes = plt.subplots(1, 2, figsize=(max(11, 1.6 * len(policies) * 2), 4.5))
    width = 0.8 / len(configs)
    labels = {"query_hit_rate": "query hit rate (ticks: chance)", "precision": "precision (toxic / exposed)"}
    for metric, axis in zip(labels, axes):
        for i, (mode, ranker) in enumerate(configs):
            chosen = [next(r for r in rows if (r["policy"], r["mode"], r["ranker"]) == (p, mode, ranker))
                      for p in policies]
            x = np.arange(len(policies)) + i * width
            axis.bar(x, [r.get(metric, 0.0) for r in chosen], width,
                     label=mode if len(rankers) == 1 else f"{mode} / {ranker}")
            if metric == "query_hit_rate":
                axis.scatter(x, [r.get("chance_hit_rate", 0.0) for r in chosen], marker="_", s=120, color="black",
                             zorder=3)
        axis.set_xticks(np.arange(len(policies)) + 0.4 - width / 2, policies, fontsize=10)
        axis.set_ylabel(labels[metric], fontsize=10)
        axis.tick_params(labelsize=9)
    handles, legend = axes[0].get_legend_handles_labels()
    figure.legend(handles, legend, loc="upper center", bbox_to_anchor=(0.5, 0.93), ncol=min(len(configs), 5),
                  fontsize=9, frameon=False)
    if title:
        figure.suptitle(title, y=0.99, fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.84))
    return save_figure_atomic(figure, path)


def plot_title(args, rows: list[dict]) -> str:
    """The plot's context: snapshot, split, k and how many queries each policy asked."""
    queries = ", ".join(f"{p} {q}" for p, q in dict.fromkeys((r["policy"], r["queries"]) for r in rows))
    return f"{args.snapshot}, {args.split} split, k={args.k}; queries: {queries}"


def write_results(rows: list[dict], out: Path, args, k: int) -> str:
    """results.json, table.md and modes.png under ``out``; returns the table."""
    table = markdown(rows, k)
    write_text_atomic(out / "results.json", json.dumps({"rows": rows, **describe_run(args)}, indent=2,
                                                       ensure_ascii=False))
    write_text_atomic(out / "table.md", table + "\n")
    plot(rows, out / "modes.png", k, title=plot_title(args, rows))
    return table


def main(args: Args) -> dict:
    from indexes import ensure_indexes
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(args.snapshot)
    modes = parse_modes(args.modes)
    # every index the grid needs (the policies read keyword counts), refused or built at once, before any work
    ensure_indexes(snapshot, ["keyword", *(m for name in modes for m in MODES[name][0])], build=args.build_missing)
    extracted = {spec: extract_queries(snapshot, spec, args.split) for spec in split_specs(args.policies)}
    for name in silent_policies(extracted):
        print(f"note: policy {name!r} proposed no queries on {args.snapshot} ({args.split} split)"
              + ("; composed snapshots carry no auditor annotations" if name == "annotation" else ""),
              file=sys.stderr)
    rows = evaluate_grid(snapshot, extracted, modes, split_specs(args.rankers), args.k)
    out = Path(args.out)
    print(write_results(rows, out, args, args.k))
    print(f"\nwrote {out / 'results.json'}, {out / 'table.md'} and {out / 'modes.png'}")
    return {"rows": rows}


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
