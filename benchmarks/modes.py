"""Policies x retrieval modes x rankers on a snapshot's test reports: the paper's Table 5 columns
plus distinct toxic found and time per query; a JSON file, a Markdown table and a plot.

    python -m benchmarks.modes --snapshot snapshots/demo-zh
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import describe_run, parse_args

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
    policies: str = "annotation,tfidf,ngram,textrank"
    modes: str = ",".join(MODES)
    rankers: str = "retrieval"
    split: str = "test"
    k: int = 100
    out: str = "reports/bench/modes"


def main(args: Args) -> dict:
    from tqdm.auto import tqdm

    from policies import make_policy
    from qx_env.errors import QxError
    from qx_env.metrics import evaluate_queries
    from qx_env.search import SearchSystem
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(args.snapshot)
    reports = snapshot.reports_in(args.split.split(","))
    texts = snapshot.report_texts(reports)
    ids = reports.column("report_id").to_pylist()
    extracted = {}
    for spec in args.policies.split(","):
        started = time.perf_counter()
        extracted[spec] = (dict(zip(ids, make_policy(spec, snapshot).extract(texts))),
                           (time.perf_counter() - started) / max(1, len(ids)))
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise QxError(f"unknown mode(s) {unknown}; choose from {', '.join(MODES)}")
    rows = []
    grid = [(m, r) for m in modes for r in args.rankers.split(",")]
    for mode, ranker in tqdm(grid, desc="modes x rankers"):
        retrieval, match = MODES[mode]
        system = SearchSystem(snapshot, modes=retrieval, k=args.k, candidates=max(args.k, 1000), ranker=ranker,
                              match=match)
        for spec, (queries, extract_seconds) in extracted.items():
            started = time.perf_counter()
            metrics = evaluate_queries(system, queries).metrics
            elapsed = time.perf_counter() - started
            rows.append({"policy": spec, "mode": mode, "ranker": ranker, **metrics.as_dict(),
                         "ms_per_query": round(1000 * elapsed / max(1, metrics.queries), 2),
                         "extract_ms_per_report": round(1000 * extract_seconds, 2)})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"rows": rows, **describe_run(args)}, indent=2, ensure_ascii=False))
    table = _markdown(rows, args.k)
    (out / "table.md").write_text(table + "\n")
    _plot(rows, out, args.k)
    print(table)
    print(f"\nwrote {out / 'results.json'}, {out / 'table.md'} and {out / 'modes.png'}")
    return {"rows": rows}


def _markdown(rows: list[dict], k: int) -> str:
    lines = [f"| policy | mode | ranker | hit@{k} | distinct | # queries | # effective | query hit rate | ms/query |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['policy']} | {r['mode']} | {r['ranker']} | {r[f'hit@{k}']} | {r['distinct_hits']} | "
              f"{r['queries']} | {r['effective_queries']} | {r['query_hit_rate']:.3f} | {r['ms_per_query']} |"
              for r in rows]
    return "\n".join(lines)


def _plot(rows: list[dict], out: Path, k: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    policies = list(dict.fromkeys(r["policy"] for r in rows))
    configs = list(dict.fromkeys((r["mode"], r["ranker"]) for r in rows))
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(configs)
    for metric, axis in zip(("query_hit_rate", f"hit@{k}"), axes):
        for i, (mode, ranker) in enumerate(configs):
            values = [next(r[metric] for r in rows if (r["policy"], r["mode"], r["ranker"]) == (p, mode, ranker))
                      for p in policies]
            axis.bar(np.arange(len(policies)) + i * width, values, width, label=f"{mode} / {ranker}")
        axis.set_xticks(np.arange(len(policies)) + 0.4 - width / 2, policies)
        axis.set_ylabel(metric)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out / "modes.png", dpi=120)


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
