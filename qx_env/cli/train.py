"""``qx mine feedback|sft|pairs|toolcalls`` and ``qx train sft|dpo|grpo|loop``: preference data from
simulated search feedback, tool-call conversations, and training policies on them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from qx_env.cli.search import add_build_missing
from qx_env.errors import QxError
from qx_env.flags import SpecList, add_dataclass_flags, dataclass_from_flags


@dataclass(kw_only=True)
class MineArgs:
    """``qx mine feedback``'s flags (besides the snapshot, the repeatable ``--policy`` and ``-k``)."""

    policies: SpecList = ()
    """Policy specs, comma-separated, each keeping its own options, e.g. annotation,tfidf:top=3."""
    candidates: int = 1
    """Candidate answers per policy and report."""
    split: tuple[str, ...] = ("train",)
    """Splits whose reports are mined, comma-separated."""
    mode: tuple[str, ...] = ("keyword",)
    """Retrieval modes the queries run in, comma-separated."""
    k: int = 100
    """Items exposed per query."""
    chunk: int = 50
    """Reports per atomically written part."""
    shards: int = 1
    """Processes the reports are split between."""
    shard: int = 0
    """Which shard this process mines (0 to --shards - 1)."""
    ray: bool = False
    """Run all --shards as Ray tasks (a local cluster on loopback, or --ray-address)."""
    ray_address: str = ""
    """An existing Ray cluster, e.g. 10.0.0.5:6379."""
    out: str
    """Feedback log directory (resumed if it exists)."""


@dataclass(kw_only=True)
class ToolCallArgs:
    """``qx mine toolcalls``'s flags (besides the snapshot). The environment's options must be the ones
    ``qx train grpo --tools`` is given: the tool's answers depend on them."""

    policies: SpecList = ("annotation",)
    """Policy specs whose queries are the tool calls, comma-separated, e.g. annotation (the auditors') or
    annotation,tfidf:top=5 (a report's queries pooled in that order)."""
    split: tuple[str, ...] = ("train",)
    """Splits whose reports are the prompts, comma-separated."""
    calls: int = 1
    """Tool calls per conversation: the report's queries with the most reward, best first."""
    modes: tuple[str, ...] = ("keyword",)
    """Retrieval modes the tool searches in, comma-separated (as qx train grpo --modes)."""
    k: int = 100
    """Items exposed per search (as qx train grpo -k)."""
    budget: int = 5
    """Searches per episode (as qx train grpo --budget)."""
    reward: str = "new_toxic"
    """The episode's reward spec (as qx train grpo --reward); only queries earning > 0 are kept."""
    observe_results: int = 3
    """Result texts the tool shows per search (as qx train grpo --observe-results)."""
    result_chars: int = 200
    """Characters of each result text shown (as qx train grpo --result-chars)."""
    seed: int = 0
    """Mixed with the report id into the auditor's seed (as qx train grpo --seed)."""
    out: str
    """JSONL file to write (atomically)."""


def _specs(mine: MineArgs, policy: list[str] | None) -> list[str]:
    """The policy specs of ``--policies`` and each ``--policy``, in order, each once."""
    return list(dict.fromkeys([*mine.policies, *(policy or [])]))


def register(tools: argparse._SubParsersAction) -> None:
    mine = tools.add_parser("mine", help="mine search feedback and build SFT / DPO data")
    commands = mine.add_subparsers(dest="command", metavar="COMMAND", required=True)

    feedback = commands.add_parser("feedback", help="run policies' candidate answers through the search engine")
    feedback.add_argument("snapshot", type=Path, help="snapshot directory (with its keyword index)")
    feedback.add_argument("--policy", action="append", help="a policy spec with options (repeatable)")
    feedback.add_argument("-k", type=int, default=MineArgs.k, help="items exposed per query")
    add_dataclass_flags(feedback, MineArgs, skip=("k",))
    add_build_missing(feedback)
    feedback.set_defaults(run=run_feedback)

    for name, helptext in (("sft", "the paper's SFT set (eq. 1) and long-context set (eq. 2)"),
                           ("pairs", "preference pairs (eq. 4) in trl's prompt/chosen/rejected format")):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("snapshot", type=Path, help="snapshot directory the feedback was mined on")
        sub.add_argument("--feedback", type=Path, required=True, help="feedback log from `qx mine feedback`")
        sub.add_argument("--out", type=Path, required=True, help="JSONL file to write (atomically)")
        sub.add_argument("--no-long-context", action="store_true", help="leave out the eq. 2 samples of joined reports")
        if name == "sft":
            sub.add_argument("--policy", default="annotation", help="whose queries are the targets")
            sub.set_defaults(run=run_sft_data)
        else:
            sub.add_argument("--tau", type=float, default=0.05, help="toxic ratio at or above which an answer is chosen (eq. 4)")
            sub.add_argument("--max-pairs", type=int, default=4, help="pairs per prompt, largest margins first")
            sub.set_defaults(run=run_pairs)

    toolcalls = commands.add_parser("toolcalls", help="SFT conversations that call the search tool (a warm start "
                                    "for qx train grpo --tools)")
    toolcalls.add_argument("snapshot", type=Path, help="snapshot directory (with its indexes)")
    add_dataclass_flags(toolcalls, ToolCallArgs)
    add_build_missing(toolcalls)
    toolcalls.set_defaults(run=run_toolcalls)

    train = tools.add_parser("train", help="train a policy model (trl + peft)")
    kinds = train.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from training import GRPOArgs, LoopArgs, TrainArgs

    for kind, epochs, cls in (("sft", 2.0, TrainArgs), ("dpo", 5.0, TrainArgs), ("grpo", 1.0, GRPOArgs)):
        sub = kinds.add_parser(kind, help=f"{kind.upper()} with the paper's defaults" if kind != "grpo" else
                               "GRPO against the environment (rewards step the search engine)")
        add_dataclass_flags(sub, cls, defaults={"epochs": epochs}, skip=("extra",))
        if kind == "grpo":
            add_build_missing(sub)
        sub.set_defaults(run=run_train, kind=kind, args_class=cls)

    loop = kinds.add_parser("loop", help="rounds of mine -> DPO -> evaluate, each round's model mining the next")
    add_dataclass_flags(loop, LoopArgs)
    add_build_missing(loop)
    loop.set_defaults(run=run_loop)


def _check_indexes(snapshot, modes, args: argparse.Namespace) -> None:
    """The one index rule of every searching command (:func:`indexes.ensure_indexes`), before any work."""
    from indexes import ensure_indexes
    from qx_env.snapshot import Snapshot

    snapshot = snapshot if isinstance(snapshot, Snapshot) else Snapshot.load(snapshot)
    ensure_indexes(snapshot, modes, build=args.build_missing, progress=True)


def run_feedback(args: argparse.Namespace) -> int:
    from qx_env.snapshot import Snapshot
    from training import mine_feedback, read_feedback

    mine = dataclass_from_flags(MineArgs, args)
    options = {"split": mine.split, "candidates": mine.candidates, "modes": mine.mode, "k": mine.k,
               "chunk": mine.chunk}
    snapshot = Snapshot.load(args.snapshot)
    _check_indexes(snapshot, mine.mode, args)
    specs = _specs(mine, args.policy)
    if mine.ray or mine.ray_address:
        from training import mine_feedback_ray

        out = mine_feedback_ray(snapshot, specs, mine.out, mine.shards, mine.ray_address, **options)
    else:
        out = mine_feedback(snapshot, specs, mine.out, shards=mine.shards, shard=mine.shard, **options)
    table = read_feedback(out)
    print(f"feedback log {out}: {table.num_rows:,} query rows")
    return 0


def run_sft_data(args: argparse.Namespace) -> int:
    from qx_env.snapshot import Snapshot
    from training import read_feedback, sft_rows, write_jsonl

    rows = sft_rows(read_feedback(args.feedback), Snapshot.load(args.snapshot), policy=args.policy,
                    long_context=not args.no_long_context)
    write_jsonl(rows, args.out)
    long = sum(r["kind"] == "long" for r in rows)
    print(f"wrote {args.out}: {len(rows) - long:,} single-report and {long:,} long-context samples")
    return 0


def run_toolcalls(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from qx_env.snapshot import Snapshot
    from training import tool_call_rows, write_jsonl

    options = asdict(dataclass_from_flags(ToolCallArgs, args))
    out, policies, split = options.pop("out"), options.pop("policies"), options.pop("split")
    snapshot = Snapshot.load(args.snapshot)
    _check_indexes(snapshot, options["modes"], args)
    reports = snapshot.reports_in(split).num_rows
    rows = tool_call_rows(snapshot, policies, split, **options)
    if not rows:
        raise QxError(f"no report of {','.join(split)} has a query of {','.join(policies)} that earns "
                      f"{options['reward']} > 0; nothing written")
    write_jsonl(rows, out)
    calls = sum(m["role"] == "tool" for r in rows for m in r["completion"])
    print(f"wrote {out}: {len(rows):,} conversations ({calls:,} tool calls) from {reports:,} reports; "
          f"{reports - len(rows):,} without a rewarded query left out; mean reward {sum(r['reward'] for r in rows) / len(rows):.2f}")
    return 0


def run_pairs(args: argparse.Namespace) -> int:
    from qx_env.snapshot import Snapshot
    from training import pair_rows, read_feedback, write_jsonl

    rows = pair_rows(read_feedback(args.feedback), Snapshot.load(args.snapshot), tau=args.tau,
                     max_pairs=args.max_pairs, long_context=not args.no_long_context)
    write_jsonl(rows, args.out)
    print(f"wrote {args.out}: {len(rows):,} preference pairs (tau {args.tau})")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from training import train_dpo, train_grpo, train_sft

    trainer = {"sft": train_sft, "dpo": train_dpo, "grpo": train_grpo}[args.kind]
    if args.kind == "grpo" and args.snapshot:
        _check_indexes(args.snapshot, args.modes, args)
    final = trainer(dataclass_from_flags(args.args_class, args))
    print(f"trained {args.kind}: {final} (run card {final.parent / 'run_card.json'})")
    return 0


def run_loop(args: argparse.Namespace) -> int:
    from training import LoopArgs, train_loop

    _check_indexes(args.snapshot, ["keyword"], args)  # the loop mines and evaluates in keyword mode
    history = train_loop(dataclass_from_flags(LoopArgs, args))
    for record in history:
        row = record[args.eval_split]
        print(f"round {record['round']}: {record['pairs']} pairs, {args.eval_split} query hit rate "
              f"{row['query_hit_rate']:.3f}, hit@100 {row['hit@100']}")
    return 0
