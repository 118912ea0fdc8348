"""The demo: the whole pipeline on the default synthetic snapshot, ending in a Markdown report.

    python -m benchmarks.demo        # or `qx bench demo`, or `make demo`

Stages, each announced and timed: synthesize the snapshot; build the keyword, embedding and graph
indexes; evaluate the baseline policies in every retrieval mode (Table 5); mine the baselines'
search feedback on the training reports; build the tiny model and train it with SFT on the eq. 1/2
data; mine its beam candidates and train DPO on the eq. 4 pairs; evaluate both models in every
mode; simulate a day online (Table 7); write ``reports/demo/index.md`` with the tables and the
plots beside it. Work files (feedback logs, models) go to ``reports/demo/work/``, remade each run.
"""

from __future__ import annotations

import json
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks import modes, online
from benchmarks._common import (
    describe_run,
    markdown_table,
    parse_args,
)
from qx_env.files import write_text_atomic
from qx_env.flags import SpecList
from qx_env.models import torch_threads

WORK_MARKER = ".made-by-qx-demo"
HUMAN = "annotation"


@dataclass
class Args:
    snapshot: str = "snapshots/demo-zh"
    """Snapshot directory, remade by the demo."""
    items: int = 50_000
    """Synthetic items; at 0.3% toxic: 150 toxic items, 90 reports (18 of them test). 50k keeps the demo
    within 10 minutes on a 2-core machine (200k took 26: the semantic encoder and SFT scale with it)."""
    language: str = "zh"
    """Language of the synthetic marketplace: zh or en."""
    toxic_share: float = 0.0
    """Toxic share of the items; 0: the generator's default prevalence (0.3%, the published band)."""
    report_share: float = 0.6
    """Share of toxic items reported (train/dev/test reports)."""
    seed: int = 0
    """Seed of the snapshot, the training and the simulated day."""
    baselines: SpecList = ("annotation", "tfidf", "ngram", "textrank")
    """Policy specs evaluated in every mode, comma-separated."""
    modes: SpecList = modes.MODES
    """Retrieval modes of the Table 5 grid (keyword, embedding, graph, hybrid; keyword:match=bm25)."""
    online_baseline: str = "tfidf"
    """Policy added to the human queries in the simulated day, beside the models."""
    sft_epochs: float = 16.0
    """SFT epochs (fractions allowed)."""
    sft_lr: float = 1e-3
    """SFT learning rate."""
    dpo_epochs: float = 1.0
    """DPO epochs (fractions allowed)."""
    dpo_lr: float = 1e-4
    """DPO learning rate."""
    candidates: int = 4
    """Beam candidates per training report, mined for preference pairs."""
    tau: float = 0.05
    """Eq. 4 preference threshold tau, in (0, 1)."""
    max_pairs: int = 2
    """Preference pairs per prompt, largest margins first."""
    threads: int = 1
    """Torch threads for the tiny model (its small matrices gain little from more); 0: torch's choice."""
    out: str = "reports/demo"
    """Output directory: index.md, its plots, results.json and table.md; work files in OUT/work."""


class Stages:
    """Numbered stages; each prints its name on entry and its elapsed time on exit."""

    def __init__(self, total: int) -> None:
        self.total, self.seconds = total, {}

    @contextmanager
    def __call__(self, name: str):
        number = len(self.seconds) + 1
        print(f"\n=== [{number}/{self.total}] {name}", flush=True)
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 1)
        print(f"=== [{number}/{self.total}] {name}: {self.seconds[name]:.1f} s", flush=True)


def fresh_work_dir(path: Path) -> Path:
    """An empty work directory; one left by an earlier demo run is deleted, anything else refused."""
    from qx_env.errors import QxError

    if path.exists():
        if not (path / WORK_MARKER).is_file():
            raise QxError(f"{path} exists and was not made by the demo; choose another --out or move it")
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / WORK_MARKER).write_text("made by benchmarks.demo; deleted and remade at its next run\n")
    return path


def main(args: Args) -> Path:
    """Run every stage and write the report; returns the path of ``index.md``."""
    with torch_threads(args.threads):
        return run_stages(args)


def run_stages(args: Args) -> Path:
    from indexes import build_indexes
    from policies import build_tiny_model
    from qx_env.corpus import SynthConfig, synthesize
    from qx_env.errors import QxError
    from qx_env.snapshot import Snapshot, describe
    from training import (
        BASELINES,
        LoopArgs,
        TrainArgs,
        dpo_round,
        mine_feedback,
        model_policy_spec,
        read_feedback,
        sft_rows,
        train_sft,
        write_jsonl,
    )

    out = Path(args.out)
    work = fresh_work_dir(out / "work")
    grid_modes = modes.parse_modes(args.modes)
    stages = Stages(total=9)

    with stages("synthesize the snapshot"):
        options = {"toxic_share": args.toxic_share} if args.toxic_share else {}
        config = SynthConfig(language=args.language, items=args.items, report_share=args.report_share,
                             seed=args.seed, **options)
        snapshot = Snapshot.load(synthesize(config).save(args.snapshot, overwrite=True))
        print(describe(snapshot))
        if not len(snapshot.reports_in(["train"])) or not len(snapshot.reports_in(["test"])):
            raise QxError(f"the snapshot has {snapshot.meta.counts['splits']} reports by split; the demo needs "
                          "training and test reports: raise --items, --toxic-share or --report-share")

    with stages("build the keyword, embedding and graph indexes"):
        build_indexes(snapshot)

    with stages("evaluate the baselines in every retrieval mode"):
        baselines = {spec: modes.extract_queries(snapshot, spec) for spec in args.baselines}
        baseline_rows = modes.evaluate_grid(snapshot, baselines, grid_modes, ["retrieval"])
        print(modes.markdown(baseline_rows, k=100))

    with stages("mine the baselines' search feedback on the training reports"):
        feedback = read_feedback(mine_feedback(snapshot, list(BASELINES), work / "feedback-baselines"))
        rows = sft_rows(feedback, snapshot)
        sft_data = write_jsonl(rows, work / "sft.jsonl")
        print(f"{feedback.num_rows} query outcomes; {len(rows)} SFT rows (eq. 1, 2)")

    with stages("build the tiny model and train it with SFT"):
        tiny = build_tiny_model(snapshot, work / "tiny")
        sft = train_sft(TrainArgs(base=str(tiny), data=str(sft_data), out=str(work / "sft"), lora=False,
                                  learning_rate=args.sft_lr, epochs=args.sft_epochs, batch_size=8, max_length=512,
                                  seed=args.seed, save_steps=100_000))

    with stages("mine the SFT model's beam candidates and train DPO"):
        loop = LoopArgs(snapshot=args.snapshot, base=str(sft), out=str(work), candidates=args.candidates,
                        max_pairs=args.max_pairs, learning_rate=args.dpo_lr, epochs=args.dpo_epochs, seed=args.seed)
        dpo, pairs = dpo_round(snapshot, sft, work, loop, tau=args.tau)  # pairs among its own candidates
        print(f"{pairs} preference pairs (eq. 4, tau {args.tau})" + ("; no DPO: nothing to prefer" if not pairs else ""))

    with stages("evaluate the models in every retrieval mode"):
        models = {"tiny SFT": modes.extract_queries(snapshot, model_policy_spec(sft, grounded=True)),
                  "tiny SFT+DPO": modes.extract_queries(snapshot, model_policy_spec(dpo, grounded=True))}
        model_rows = modes.evaluate_grid(snapshot, models, grid_modes, ["retrieval"])
        print(modes.markdown(model_rows, k=100))

    with stages("simulate a day online: human vs human + model queries"):
        def queries_of(spec: str) -> dict[str, list[str]]:  # reuse the baselines' queries when there
            return (baselines.get(spec) or modes.extract_queries(snapshot, spec)).queries

        day = online.Args(snapshot=args.snapshot, human=HUMAN, seed=args.seed)
        added = {args.online_baseline: queries_of(args.online_baseline), "tiny SFT": models["tiny SFT"].queries,
                 "tiny SFT+DPO": models["tiny SFT+DPO"].queries}
        online_rows, cumulative = online.run_day(modes.search_system(snapshot, day.mode), queries_of(HUMAN), added, day)
        print(online.markdown(online_rows))

    with stages("write the report"):
        grid = baseline_rows + model_rows
        modes.plot(modes.figure_data(grid, modes.plot_title(args.snapshot, "test", 100, grid)), out / "modes.png")
        online.plot(online.figure_data(cumulative, online.plot_title(day, cumulative)), out / "online.png")
        plot_training(sft, dpo, out / "training.png", f"tiny model, {args.snapshot}, {pairs} DPO pairs (tau {args.tau}), seed {args.seed}")
        results = {"grid": grid, "online": online_rows, "cumulative": cumulative, "pairs": pairs,
                   "stages_s": stages.seconds, **describe_run(args)}
        write_text_atomic(out / "results.json", json.dumps(results, indent=2, ensure_ascii=False, default=str))
        index = write_text_atomic(out / "index.md", report(args, snapshot, grid, online_rows, pairs, stages.seconds))
        write_text_atomic(out / "table.md", tables(results) + "\n")

    print(f"\ndemo finished in {sum(stages.seconds.values()) / 60:.1f} min; report: {index.resolve()}")
    return index


def plot_training(sft: Path, dpo: Path, path: Path, context: str) -> Path:
    """SFT loss and DPO loss, implicit rewards and accuracy per logged step, every step the run
    cards logged (training.plot_training)."""
    from training import plot_training as plot_runs

    return plot_runs({"SFT": sft, **({"DPO": dpo} if dpo != sft else {})}, path, context)


def _epochs(count: float) -> str:
    return f"{count:g} epoch" + ("" if count == 1 else "s")


def stages_table(seconds: dict[str, float]) -> str:
    return markdown_table(["stage", "seconds"], [*([name, f"{s:.1f}"] for name, s in seconds.items()),
                                                 ["total", f"{sum(seconds.values()):.1f}"]])


def tables(results: dict) -> str:
    """table.md (what the results page shows), from results.json alone: the stages' times, every policy in
    every mode, and the day online."""
    return "\n\n".join([
        "Stages (seconds):", stages_table(results["stages_s"]),
        "Policies in every retrieval mode, test split, k = 100 (the tiny models: greedy, grounded decoding):",
        modes.markdown(results["grid"], k=100),
        "A simulated day online (Table 7), keyword exact:", online.markdown(results["online"])])


def report(args: Args, snapshot, grid: list[dict], online_rows: list[dict], pairs: int,
           seconds: dict[str, float]) -> str:
    """index.md: what ran, the tables, the plots and the commands that reproduce each part."""
    from training import BASELINES

    counts = snapshot.meta.counts
    splits = counts.get("splits", {})
    snapshot_line = (f"Snapshot `{args.snapshot}`: synthetic {args.language} marketplace, {counts['items']:,} items, "
                     f"{counts['toxic']:,} toxic, {counts['reports']} reports (train {splits.get('train', 0)}, "
                     f"dev {splits.get('dev', 0)}, test {splits.get('test', 0)}), seed {args.seed}. "
                     f"Total time {sum(seconds.values()) / 60:.1f} min.")
    training_line = (f"SFT on the eq. 1/2 rows mined from {', '.join(BASELINES)} on the training reports "
                     f"({_epochs(args.sft_epochs)}, lr {args.sft_lr:g}); DPO + SFT loss on {pairs} eq. 4 pairs "
                     f"(tau {args.tau}) among the SFT model's own {args.candidates} grounded beam candidates "
                     f"({_epochs(args.dpo_epochs)}, lr {args.dpo_lr:g}). Test split, keyword exact:")
    commands = "\n".join([
        "```bash",
        f"qx bench demo {args.snapshot} --items {args.items} --seed {args.seed}   # this report",
        f"qx bench modes {args.snapshot}                      # Table 5 of the baselines",
        f"qx bench online {args.snapshot} --models {args.online_baseline}      # Table 7",
        "```",
    ])
    blocks = [
        "# qx-env demo",
        snapshot_line,
        "![query hit rate and hit@100 per policy and mode](modes.png)",
        ("Look at this first: each policy's query hit rate (the share of its queries that expose at least one "
         "toxic item in the top 100) in each retrieval mode, with its 95% interval over campaigns, beside "
         "chance. What the demo shows is the whole pipeline working on one small world: snapshot, indexes, "
         "search with removal, baselines, mined feedback, SFT and DPO of a tiny model, a day online. What it "
         f"cannot show is which policy or mode is better: {splits.get('test', 0)} test reports leave intervals "
         "tens of points wide. The decisive figures come from `qx bench suite` (benchmarks/RESULTS.md)."),
        "## Stages",
        stages_table(seconds),
        "## Policies in every retrieval mode (Table 5)",
        ("Test split, k = 100, retrieval ranker, the reports' own items taken down first; "
         "the tiny models answer with greedy, grounded decoding."),
        modes.markdown(grid, k=100),
        "## Training the tiny model",
        training_line,
        modes.markdown([r for r in grid if r["mode"] == "keyword"], k=100),
        "![training losses](training.png)",
        "## A simulated day online (Table 7)",
        ("The test reports in a seeded order; for each, the auditors' annotated queries first, then the "
         "other source's; detected items are removed for the rest of the day (keyword exact)."),
        online.markdown(online_rows),
        "![cumulative detections over the day](online.png)",
        "## Reproduce",
        commands,
    ]
    return "\n\n".join(blocks) + "\n"

if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
