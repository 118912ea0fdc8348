"""``qx ranker train|eval|score``: the ranking service's risk models. Train an ``lm`` classifier,
evaluate rankers on labeled texts (the small-models study's Table 1 columns), and score a
snapshot once so that ranking inside env steps is a lookup."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from qx_env.files import write_text_atomic
from qx_env.flags import add_dataclass_flags, dataclass_from_flags
from qx_env.specs import format_spec

DEFAULT_RANKERS = ("retrieval", "risk", "oracle:auc=0.8")


def register(tools: argparse._SubParsersAction) -> None:
    from training import ClassifierArgs

    ranker = tools.add_parser("ranker", help="train, evaluate and precompute risk rankers")
    commands = ranker.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = commands.add_parser("train", help="fine-tune a small LM as a risk classifier (the lm ranker)")
    train.add_argument("data", help="snapshot directory, or a labeled preset: cold")
    add_dataclass_flags(train, ClassifierArgs, skip=("data",))
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("eval", help="accuracy, precision, recall, F1, AUC and samples/s of rankers")
    evaluate.add_argument("data", nargs="?", help="snapshot directory (its held-out items) or a labeled file")
    evaluate.add_argument("--corpus-preset", choices=("cold",), help="evaluate on a real labeled corpus instead")
    evaluate.add_argument("--ranker", action="append", metavar="SPEC",
                          help=f"ranker spec (repeatable), e.g. lm:path=DIR,kind=judge; default {', '.join(DEFAULT_RANKERS)}")
    evaluate.add_argument("--data-dir", default="../shared/data", help="folder of the real corpora")
    evaluate.add_argument("--holdout", type=float, default=0.1, help="snapshots: held-out share of other items")
    evaluate.add_argument("--max-test", type=int, default=0, help="evaluate on a seeded sample of this many (0: all)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the held-out split and the sample")
    evaluate.add_argument("--out", type=Path, help="write the rows as JSON here")
    evaluate.set_defaults(run=run_eval)

    score = commands.add_parser("score", help="score every item of a snapshot once (load with scores:path=DIR)")
    score.add_argument("snapshot", type=Path, help="snapshot directory whose items are scored")
    score.add_argument("--ranker", required=True, metavar="SPEC", help="e.g. lm:path=DIR")
    score.add_argument("--out", type=Path, required=True, help="directory for scores.npy and scores.json")
    score.set_defaults(run=run_score)


def run_train(args: argparse.Namespace) -> int:
    from training import ClassifierArgs, train_classifier

    final = train_classifier(dataclass_from_flags(ClassifierArgs, args))
    print(f"classifier saved to {final}; rank with --ranker {shlex.quote(format_spec('lm', path=final))}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from qx_env.rankers import classification_table, evaluate_ranker, labeled_sets

    if (args.data is None) == (args.corpus_preset is None):
        raise ValueError("give a snapshot directory or --corpus-preset, not both or neither")
    train, test = labeled_sets(args.corpus_preset or str(args.data), args.data_dir, args.holdout, args.seed)
    test = test.sample(args.max_test, args.seed)
    rows = [evaluate_ranker(spec, train, test) for spec in (args.ranker or DEFAULT_RANKERS)]
    print(classification_table(rows))
    if args.out:
        write_text_atomic(args.out, json.dumps(rows, indent=2))
        print(f"rows written to {args.out}")
    return 0


def run_score(args: argparse.Namespace) -> int:
    from qx_env.rankers import make_ranker, write_scores
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(args.snapshot)
    scores = make_ranker(args.ranker, snapshot).scores()
    if scores is None:
        raise ValueError(f"ranker {args.ranker!r} gives no scores")
    out = write_scores(args.out, snapshot, scores, {"ranker": args.ranker})
    print(f"{len(scores):,} scores written to {out}; rank with --ranker {shlex.quote(format_spec('scores', path=out))}")
    return 0
