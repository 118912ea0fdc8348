"""Rankers as risk classifiers and as the search system's ranking phase: the small-models study's
Table 1 columns (accuracy, precision, recall, F1, AUC, samples/s) on COLD test and on a snapshot's
held-out items, then how each ranker changes Query hit rate and hit@k of policies in keyword mode.
Results JSON, Markdown tables and a plot.

    python -m benchmarks.rankers --snapshot snapshots/bench-zh-20000
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import (
    describe_run,
    ensure_snapshot,
    markdown_table,
    parse_args,
    pyplot,
    save_figure_atomic,
    write_text_atomic,
)
from benchmarks.modes import evaluate_grid, extract_queries
from qx_env.flags import SpecList
from qx_env.rankers import classification_table
from qx_env.specs import format_spec


@dataclass
class Args:
    snapshot: str = "snapshots/bench-zh-20000"
    """Snapshot directory."""
    items: int = 20000
    """Synthesized (seeded) when the snapshot does not exist yet."""
    seed: int = 0
    """Corpus and training seed."""
    cold: bool = True
    """Also evaluate on COLD (train split -> test split)."""
    data_dir: str = "../shared/data"
    """The real corpora (see ../shared/data/README.md)."""
    base: str = "tiny"
    """Causal LM of the lm rankers: a local path, or "tiny" (built from the training texts)."""
    epochs: float = 1.0
    """Fine-tuning epochs of the lm classifier."""
    max_steps: int = -1
    """> 0 overrides epochs."""
    max_train: int = 0
    """Cap on classifier training texts (0 = all)."""
    max_test: int = 0
    """Cap on evaluation texts (0 = all)."""
    oracle_auc: float = 0.8
    """AUC of the oracle ranker."""
    policies: SpecList = ("annotation", "tfidf")
    """Policies whose queries are ranked, comma-separated specs."""
    k: int = 100
    """Items exposed per query."""
    out: str = "reports/bench/rankers"
    """Output directory: results.json, table."""


def lm_rankers(data: str, models: Path, args: Args) -> dict[str, str]:
    """Train (or reuse) the lm classifier on ``data``; label -> spec of both lm rankers. The prompted
    judge is the classifier's base (for ``tiny``, a causal LM with no pretraining)."""
    from training import ClassifierArgs, train_classifier

    final = models / "final"
    if not (final / "config.json").is_file():
        train_classifier(ClassifierArgs(data=data, out=str(models), base=args.base, epochs=args.epochs,
                                        max_steps=args.max_steps, max_train=args.max_train, seed=args.seed,
                                        data_dir=args.data_dir))
    base = models / "tiny-base" if args.base == "tiny" else Path(args.base)
    size = "tiny" if args.base == "tiny" else base.name
    return {f"lm fine-tuned ({size})": format_spec("lm", path=final),
            f"lm prompted ({size})": format_spec("lm", path=base, kind="judge")}


def ranker_specs(data: str, models: Path, args: Args) -> dict[str, str]:
    """Display label -> ranker spec, in the table's order."""
    return {"retrieval": "retrieval", "logistic regression": "risk", **lm_rankers(data, models, args),
            f"oracle (AUC {args.oracle_auc})": format_spec("oracle", auc=args.oracle_auc)}


def classification_rows(name: str, data, specs: dict[str, str], args: Args) -> list[dict]:
    """Table 1 row of every ranker on one labeled source."""
    from qx_env.rankers import evaluate_ranker, labeled_sets

    train, test = labeled_sets(data, args.data_dir, seed=args.seed)
    test = test.sample(args.max_test, args.seed)
    return [{**evaluate_ranker(spec, train, test), "ranker": label, "data": name} for label, spec in specs.items()]


def plot(classification: list[dict], search: list[dict], path: Path, k: int) -> Path:
    """AUC and F1 per ranker and data set; Query hit rate per ranker and policy."""
    import numpy as np

    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(13, 4))
    rankers = list(dict.fromkeys(r["ranker"] for r in classification))
    bars = [(d, m) for d in dict.fromkeys(r["data"] for r in classification) for m in ("auc", "f1")]
    width = 0.8 / len(bars)
    for i, (data, metric) in enumerate(bars):
        values = [next((r[metric] for r in classification if (r["ranker"], r["data"]) == (name, data)), 0)
                  for name in rankers]
        axes[0].bar(np.arange(len(rankers)) + i * width, values, width, label=f"{metric} ({data})")
    axes[0].set_xticks(np.arange(len(rankers)) + 0.4 - width / 2, rankers, fontsize=7, rotation=15)
    axes[0].set_ylim(0, 1)
    axes[0].legend(fontsize=7)
    policies = list(dict.fromkeys(r["policy"] for r in search))
    width = 0.8 / len(rankers)
    for i, name in enumerate(rankers):
        values = [next((r["query_hit_rate"] for r in search if (r["ranker"], r["policy"]) == (name, p)), 0)
                  for p in policies]
        axes[1].bar(np.arange(len(policies)) + i * width, values, width, label=name)
    axes[1].set_xticks(np.arange(len(policies)) + 0.4 - width / 2, policies)
    axes[1].set_ylabel(f"query hit rate (keyword exact, top {k})")
    axes[1].legend(fontsize=7)
    figure.tight_layout()
    return save_figure_atomic(figure, path)


def tables(classification: list[dict], search: list[dict], k: int) -> str:
    first = classification_table(classification)
    second = markdown_table(["ranker", "policy", "query hit rate", f"hit@{k}", "# effective", "# queries"],
                            [[r["ranker"], r["policy"], r["query_hit_rate"], r[f"hit@{k}"], r["effective_queries"],
                              r["queries"]] for r in search])
    return f"{first}\n\n{second}"


def main(args: Args) -> dict:
    from qx_env.errors import QxError

    out = Path(args.out)
    snapshot = ensure_snapshot(args.items, args.seed, args.snapshot)
    sources = {"snapshot": snapshot}
    if args.cold:
        if (Path(args.data_dir) / "cold").is_dir():
            sources = {"COLD test": "cold", **sources}
        else:
            print(f"note: COLD not found under {args.data_dir}; evaluating on the snapshot only", file=sys.stderr)
    classification, specs_of = [], {}
    for name, data in sources.items():
        # Models are kept per data set (per snapshot fingerprint), so a rebuilt snapshot retrains them.
        folder = name.split()[0] if isinstance(data, str) else f"snapshot-{snapshot.fingerprint[:12]}"
        specs_of[name] = ranker_specs(data if isinstance(data, str) else str(snapshot.path),
                                      out / "models" / folder, args)
        classification += classification_rows(name, data, specs_of[name], args)
    specs = specs_of["snapshot"]  # the rankers trained on this snapshot rank its searches
    extracted = {spec: extract_queries(snapshot, spec) for spec in args.policies}
    if not extracted:
        raise QxError("give at least one policy")
    labels = {spec: label for label, spec in specs.items()}
    search = [{**row, "ranker": labels[row["ranker"]]}
              for row in evaluate_grid(snapshot, extracted, ["keyword"], list(specs.values()), args.k)]
    text = tables(classification, search, args.k)
    write_text_atomic(out / "results.json", json.dumps({"classification": classification, "search": search,
                                                        **describe_run(args)}, indent=2, ensure_ascii=False))
    write_text_atomic(out / "table.md", text + "\n")
    plot(classification, search, out / "rankers.png", args.k)
    print(text)
    print(f"\nwrote {out / 'results.json'}, {out / 'table.md'} and {out / 'rankers.png'}")
    return {"classification": classification, "search": search}


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
