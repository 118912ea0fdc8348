"""``qx compare A.json B.json``: two ``qx eval --json`` runs compared paired on the same reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(tools: argparse._SubParsersAction) -> None:
    from qx_env.stats import RATES

    compare = tools.add_parser("compare", help="compare two qx eval --json runs: paired difference, 95%% interval "
                               "over campaigns, sign-flip p-value, minimal detectable difference")
    compare.add_argument("a", type=Path, help="results of A (qx eval ... --json > A.json)")
    compare.add_argument("b", type=Path, help="results of B, on the same snapshot, split and modes")
    compare.add_argument("--rates", default=",".join(RATES), help=f"rates to compare, comma-separated: {', '.join(RATES)}")
    compare.add_argument("--adjust", choices=("holm", "bh", "none"), default="holm",
                         help="p-value adjustment across the rates compared")
    compare.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    compare.set_defaults(run=run_compare)


def comparison_table(comparisons, a: str, b: str) -> str:
    """A Markdown table of paired comparisons A - B."""
    lines = [(f"| rate | A: {a} [95% CI] | B: {b} [95% CI] | A - B [95% CI] | p (sign-flip) | p adjusted | "
             f"minimal detectable difference |"), "|---|---|---|---|---|---|---|"]
    for c in comparisons:
        adjusted = "-" if c.p_adjusted is None else f"{c.p_adjusted:.4f}"
        lines.append(f"| {c.rate} | {c.a.value:.3f} [{c.a.low:.3f}, {c.a.high:.3f}] | {c.b.value:.3f} "
                     f"[{c.b.low:.3f}, {c.b.high:.3f}] | {c.difference:+.3f} [{c.low:+.3f}, {c.high:+.3f}] | "
                     f"{c.p_value:.4f} | {adjusted} | {c.mdd:.3f} |")
    return "\n".join(lines)


def run_compare(args: argparse.Namespace) -> int:
    from qx_env.flags import comma_list
    from qx_env.runs import compare_runs, load_run
    from qx_env.stats import FLIPS, RESAMPLES, adjust

    a, b = load_run(args.a), load_run(args.b)
    comparisons = compare_runs(a, b, comma_list(args.rates))
    if args.adjust != "none":
        comparisons = adjust(comparisons, args.adjust)
    first = comparisons[0]
    if args.json:
        print(json.dumps({"a": {"path": a.path, "source": a.source}, "b": {"path": b.path, "source": b.source},
                          "context": {k: a.context.get(k) for k in ("snapshot", "split", "split_rule", "modes", "match",
                                                                       "k", "dynamics")},
                          "adjust": args.adjust, "comparisons": [c.as_dict() for c in comparisons]}, ensure_ascii=False))
        return 0
    context = a.context
    print(f"{context['snapshot'].get('name')} ({context.get('split_rule', '?')}), split {','.join(context['split'])}, "
          f"modes {'+'.join(context['modes'])} ({context.get('match')}), k={context['k']}: {first.reports} reports in "
          f"{first.campaigns} campaigns ({first.singletons} singletons)")
    print(comparison_table(comparisons, a.source, b.source))
    print(f"intervals: percentile bootstrap over campaigns ({RESAMPLES} resamples, seed 0); p: paired sign-flip test "
          f"at the campaign level ({FLIPS} draws); minimal detectable difference at 80% power, alpha 0.05")
    return 0
