"""``qx bench NAME``: the benchmark scripts of ``benchmarks/`` (modes, online, speed, scale, env, rankers,
training, demo, fuzz, load, duplicates) behind one command, each flag made from the script's dataclass of arguments."""

from __future__ import annotations

import argparse
import importlib

from qx_env.flags import add_dataclass_flags, dataclass_from_flags

BENCHMARKS = {
    "suite": ("benchmarks.suite", ("the decisive benchmark: policies x modes over a frozen suite of worlds, floor and "
              "ceiling, paired comparisons over campaigns")),
    "modes": ("benchmarks.modes", "policies x retrieval modes x rankers: Table 5 columns, table and plot"),
    "speed": ("benchmarks.search_speed", "search speed against raw pyserini and faiss calls"),
    "scale": ("benchmarks.scale", "cost against corpus size (10k, 100k, 1M): build, disk, load, steps/s, memory"),
    "env": ("benchmarks.env_speed", "environment steps/s, overhead over the search system, reset time"),
    "rankers": ("benchmarks.rankers", "rankers as classifiers (COLD, snapshot) and their effect on hit rates"),
    "training": ("benchmarks.training_headline", "SFT vs SFT+DPO of the tiny model over seeds, tau ablation"),
    "fuzz": ("benchmarks.fuzz", "fuzz the answer parser and the Lucene query builder for a bounded time"),
    "load": ("benchmarks.load", "the env in async vector workers: steps/s and memory of every process over time"),
    "online": ("benchmarks.online", "a simulated day with removal: human vs human + model queries (Table 7)"),
    "weeks": ("benchmarks.weeks", ("weeks online against sellers who reword after takedowns: human vs human + "
              "model queries per week, live toxic listings, drift")),
    "fidelity": ("benchmarks.fidelity", "the paper's claims over seeds beside chance and precision; sweeps"),
    "duplicates": ("benchmarks.near_duplicates", "near-duplicates by the graph's MinHash rule: real corpora vs synthetic"),
    "separability": ("benchmarks.separability", ("held-out AUC of a classic classifier, synthetic against real; "
                     "--leak: planted real toxic texts against synthetic and real backgrounds")),
    "leak": ("benchmarks.split_leak", ("planted real corpora: test reports with a near-duplicate in train, split by "
             "campaign against split by split group")),
    "encoders": ("benchmarks.encoders", "text encoders: speed, paraphrase and span retrieval on real text, junk"),
    "serve": ("benchmarks.serve", ("the retrieval server under N concurrent clients, its own and verl's stock one: "
              "q/s, p50/p95/p99, errors, client and server CPU")),
    "demo": ("benchmarks.demo", "the whole pipeline, snapshot to SFT+DPO and a simulated day: reports/demo/index.md"),
}


def register(tools: argparse._SubParsersAction) -> None:
    bench = tools.add_parser("bench", help="run a benchmark (figures, JSON, plots)")
    commands = bench.add_subparsers(dest="command", metavar="BENCHMARK", required=True)
    for name, (module, helptext) in BENCHMARKS.items():
        sub = commands.add_parser(name, help=helptext)
        sub.set_defaults(run=run_bench, module=module)
        sub.add_argument("snapshot_path", nargs="?", default=None, metavar="DIR",
                         help="snapshot directory, for benchmarks that take one")
        add_dataclass_flags(sub, importlib.import_module(module).Args)


def run_bench(args: argparse.Namespace) -> int:
    module = importlib.import_module(args.module)
    overrides = {}
    if args.snapshot_path is not None:
        if not hasattr(args, "snapshot"):
            raise ValueError(f"qx bench {args.command} takes no snapshot directory")
        overrides["snapshot"] = args.snapshot_path
    module.main(dataclass_from_flags(module.Args, args, **overrides))
    return 0
