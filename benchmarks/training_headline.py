"""The headline: does DPO on preference pairs mined from simulated search feedback improve a policy
over SFT alone, as the paper found (+10% relative query hit rate)?

    python -m benchmarks.training_headline --seeds 0,1,2

On one synthetic zh snapshot with the tiny local model on CPU: mine the baselines' feedback on the
training reports once; then per training seed, SFT on the eq. 1/2 data, mine the SFT model's own
beam candidates, DPO on the eq. 4 pairs among them (``--pairs-from model+baselines`` adds the
baselines' answers) at tau 0.05 and at a lower tau (the ablation), and evaluate
SFT and each DPO model on the held-out test reports in keyword exact mode. The models decode
extractively (``grounded``) unless ``--no-grounded``. Writes JSON and a plot.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import describe_run, markdown_table, parse_args, pyplot, save_figure_atomic
from qx_env.errors import QxError
from qx_env.files import write_text_atomic

#: Where DPO pairs come from: the SFT model's own candidates, or those and the baselines' answers.
PAIRS_FROM = ("model", "model+baselines")


@dataclass
class Args:
    items: int = 200_000
    """At the generator's default prevalence (0.3%): 600 toxic items, 360 reports."""
    toxic_share: float = 0.0
    """0: the generator's default prevalence."""
    report_share: float = 0.6
    """Share of toxic items reported."""
    snapshot_seed: int = 0
    """Corpus seed."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Training seeds."""
    sft_epochs: float = 12.0
    """SFT epochs."""
    sft_lr: float = 1e-3
    """SFT learning rate."""
    dpo_epochs: float = 1.0
    """DPO epochs."""
    max_pairs: int = 2
    """Per prompt, largest margins first."""
    dpo_lr: float = 1e-4
    """DPO learning rate."""
    beta: float = 0.1
    """DPO beta (strength of the reference KL)."""
    tau: float = 0.05
    """Toxic ratio at or above which an answer is chosen (eq. 4's tau)."""
    tau_low: float = 0.01
    """The lower tau of the ablation (eq. 4)."""
    candidates: int = 4
    """Beam candidates per report mined for pairs."""
    grounded: bool = True
    """Keep only queries found in the report text (the paper's eq. 1 rule)."""
    base: str = ""
    """A local causal LM to fine-tune (fully) instead of the tiny model, e.g. Qwen2.5-0.5B on a GPU."""
    pairs_from: str = "model"
    """"model": the SFT model's own beam candidates; "model+baselines": with the baselines' answers."""
    out: str = "reports/bench/training_headline"
    """Output directory: results.json, table, plot."""


def prepare(args: Args, root: Path):
    """The snapshot, the baselines' feedback, the SFT data and the tiny model, made once."""
    from policies import build_tiny_model
    from qx_env import Snapshot
    from qx_env.corpus import SynthConfig, synthesize
    from training import BASELINES, mine_feedback, read_feedback, sft_rows, write_jsonl

    snapshot_dir = root / "snapshot"
    if not (snapshot_dir / "meta.json").is_file():
        options = {"toxic_share": args.toxic_share} if args.toxic_share else {}
        config = SynthConfig(items=args.items, report_share=args.report_share, seed=args.snapshot_seed, **options)
        synthesize(config).save(snapshot_dir, overwrite=True)
    snapshot = Snapshot.load(snapshot_dir)
    baseline = read_feedback(mine_feedback(snapshot, list(BASELINES), root / "feedback-baselines"))
    write_jsonl(sft_rows(baseline, snapshot), root / "sft.jsonl")
    if not args.base and not (root / "tiny" / "config.json").is_file():
        build_tiny_model(snapshot, root / "tiny")
    return snapshot, baseline


def run_seed(args: Args, seed: int, root: Path, snapshot, baseline) -> dict:
    from training import LoopArgs, TrainArgs, dpo_round, evaluate_model, train_sft

    work = root / f"seed{seed}"
    timings, result = {}, {"seed": seed}
    started = time.perf_counter()
    sft = train_sft(TrainArgs(base=args.base or str(root / "tiny"), data=str(root / "sft.jsonl"), out=str(work / "sft"),
                              lora=False, learning_rate=args.sft_lr, epochs=args.sft_epochs, batch_size=8, max_length=512,
                              seed=seed, save_steps=100_000))
    timings["sft_s"] = time.perf_counter() - started
    result["sft"] = evaluate_model(snapshot, sft, grounded=args.grounded)
    loop = LoopArgs(snapshot=str(root / "snapshot"), base=str(sft), out=str(work), candidates=args.candidates,
                    max_pairs=args.max_pairs, learning_rate=args.dpo_lr, epochs=args.dpo_epochs, beta=args.beta,
                    grounded=args.grounded, seed=seed)
    for tau in (args.tau, args.tau_low):
        started = time.perf_counter()
        dpo, pairs = dpo_round(snapshot, sft, work, loop, baseline if args.pairs_from == "model+baselines" else None,
                               tau=tau)
        timings[f"dpo_tau{tau}_s"] = time.perf_counter() - started
        result[f"dpo_tau{tau}"] = {**evaluate_model(snapshot, dpo, grounded=args.grounded), "pairs": pairs}
    result["timings"] = {k: round(v, 1) for k, v in timings.items()}
    return result


def main(args: Args) -> dict:
    if args.pairs_from not in PAIRS_FROM:
        raise QxError(f"--pairs-from must be one of {', '.join(PAIRS_FROM)}, got {args.pairs_from!r}")
    root = Path(args.out)
    if not args.seeds:
        raise QxError("give at least one training seed (--seeds 0,1,2)")
    started = time.perf_counter()
    snapshot, baseline = prepare(args, root)
    runs = [run_seed(args, seed, root, snapshot, baseline) for seed in args.seeds]
    made = comparisons(runs, args)
    summary = {"runs": runs, "comparisons": made, "minutes": round((time.perf_counter() - started) / 60, 1),
               **describe_run(args)}
    write_text_atomic(root / "results.json", json.dumps(summary, indent=2))
    write_text_atomic(root / "summary.md", _report(runs, args, root) + "\n\n" + comparisons_table(made) + "\n")
    return summary


def summed_over_seeds(per_reports: list[dict[str, list]]) -> dict[str, list]:
    """Per-report columns of several training seeds' models on the same reports, each report's counts summed:
    the seeds' average model, evaluated report by report (its campaign kept)."""
    first = per_reports[0]
    summed = {"report_id": list(first["report_id"]), "campaign": list(first["campaign"])}
    for name in ("queries", "effective_queries", "exposed", "hits"):
        summed[name] = [sum(values) for values in zip(*(p[name] for p in per_reports))]
    return summed


def comparisons(runs: list[dict], args: Args) -> list[dict]:
    """SFT+DPO (both taus) against SFT and tau against tau, paired on the test reports over campaigns: per
    training seed, and over the seeds together (each report's counts summed), Holm across them all."""
    from qx_env.runs import compare_per_report
    from qx_env.stats import adjust

    arms = [(f"dpo_tau{args.tau}", "sft"), (f"dpo_tau{args.tau_low}", "sft"), (f"dpo_tau{args.tau}", f"dpo_tau{args.tau_low}")]
    planned = [(str(run["seed"]), a, b, run[a]["per_report"], run[b]["per_report"]) for run in runs for a, b in arms]
    planned += [("all", a, b, summed_over_seeds([r[a]["per_report"] for r in runs]),
                 summed_over_seeds([r[b]["per_report"] for r in runs])) for a, b in arms]
    made = adjust([compare_per_report(x, y, ("query_hit_rate",))[0] for *_, x, y in planned], "holm")
    return [{"seeds": seeds, "compared": a, "against": b, **c.as_dict()}
            for (seeds, a, b, *_), c in zip(planned, made)]


def comparisons_table(made: list[dict]) -> str:
    """The paired comparisons as a Markdown table."""
    from benchmarks._comparisons import difference_cells

    rows = [[c["seeds"], f"{c['compared']} minus {c['against']}", *difference_cells(c),
             f"{c['reports']} reports, {c['campaigns']} campaigns"] for c in made]
    return markdown_table(["training seed", "comparison", "difference in query hit rate [95% CI]", "p (Holm)",
                           "detectable", "test set"], rows)


def _report(runs: list[dict], args: Args, root: Path) -> str:
    columns = {"SFT": "sft", f"SFT+DPO tau {args.tau}": f"dpo_tau{args.tau}",
               f"SFT+DPO tau {args.tau_low}": f"dpo_tau{args.tau_low}"}
    rows = []
    for label, key in columns.items():
        for run in runs:
            row = run[key]
            rows.append([label, run["seed"], row["query_hit_rate"], row["hit@100"], row["distinct_hits"],
                         row["queries"], row["distinct_queries"], row.get("pairs", "-")])
        rates = [run[key]["query_hit_rate"] for run in runs]
        rows.append([label, "mean", statistics.mean(rates), statistics.mean(r[key]["hit@100"] for r in runs),
                     statistics.mean(r[key]["distinct_hits"] for r in runs), "", "", ""])
    table = markdown_table(["model", "seed", "query hit rate", "hit@100", "distinct hits", "# queries",
                            "distinct queries", "pairs"], rows)
    sft = statistics.mean(r["sft"]["query_hit_rate"] for r in runs)
    lines = [table, ""]
    for label, key in list(columns.items())[1:]:
        dpo = statistics.mean(r[key]["query_hit_rate"] for r in runs)
        wins = sum(r[key]["query_hit_rate"] > r["sft"]["query_hit_rate"] for r in runs)
        lines.append(f"{label}: mean query hit rate {dpo:.3f} vs SFT {sft:.3f} "
                     f"({(dpo / sft - 1) * 100 if sft else float('nan'):+.1f}% relative), above SFT in {wins} of {len(runs)} seeds")
    text = "\n".join(lines)
    print("\n" + text)

    plt = pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for metric, axis in zip(("query_hit_rate", "hit@100", "distinct_queries"), axes):
        for run in runs:
            axis.plot(list(columns), [run[key][metric] for key in columns.values()], marker="o",
                      label=f"seed {run['seed']}")
        axis.set_ylabel(f"{metric.replace('_', ' ')} (test)")
        axis.tick_params(axis="x", labelsize=7)
    axes[0].set_title("tiny model, keyword exact")
    axes[0].legend()
    figure.tight_layout()
    save_figure_atomic(figure, root / "sft_vs_dpo.png")
    print(f"wrote {root / 'results.json'} and {root / 'sft_vs_dpo.png'}")
    return text


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
