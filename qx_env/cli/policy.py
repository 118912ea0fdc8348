"""``qx extract``: run a policy on texts and print its queries; ``qx model tiny``: a tiny local model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from policies import TinyModelConfig
from qx_env.errors import QxError
from qx_env.flags import add_dataclass_flags, dataclass_from_flags

#: Copies of the tool conversation's texts ``qx model tiny`` trains the tokenizer on by default: on a 20k-item zh
#: snapshot (vocabulary 8,000) the tool prompt of one report fell from 968 tokens to 325 (the same at 64 copies),
#: the listings' characters per token from 2.49 to 2.45.
TOOL_TEXT_COPIES = 32


def register(tools: argparse._SubParsersAction) -> None:
    extract = tools.add_parser("extract", help="extract queries from texts with a policy")
    extract.add_argument("texts", nargs="+", metavar="TEXT", help="report texts to extract queries from")
    extract.add_argument("--policy", required=True, help="name[:key=value,...], e.g. tfidf:top=3")
    extract.add_argument("--snapshot", type=Path, default=None,
                         help="snapshot directory the policy is fitted on (tfidf, ngram, oracle, annotation)")
    extract.add_argument("--json", action="store_true", help="print one JSON object per text")
    extract.set_defaults(run=run_extract)

    model = tools.add_parser("model", help="local language models")
    commands = model.add_subparsers(dest="command", metavar="COMMAND", required=True)
    tiny = commands.add_parser("tiny", help="build a tiny Qwen2-architecture model and tokenizer (no download)")
    tiny.add_argument("--snapshot", type=Path, required=True, help="snapshot whose texts train the tokenizer")
    tiny.add_argument("--out", type=Path, required=True, help="directory to write the model and tokenizer to")
    add_dataclass_flags(tiny, TinyModelConfig, defaults={"tool_tokens": True})
    tiny.add_argument("--tool-texts", type=int, default=TOOL_TEXT_COPIES, metavar="N",
                      help="copies of the search tool's conversation (training.tool_texts) the tokenizer also learns "
                           "from, so the tool prompt of qx train grpo --tools takes about a third of the tokens "
                           "(0: none, as build_tiny_model)")
    tiny.set_defaults(run=run_tiny)


def run_tiny(args: argparse.Namespace) -> int:
    import json

    from policies import build_tiny_model
    from qx_env.snapshot import Snapshot

    config = dataclass_from_flags(TinyModelConfig, args)
    if args.tool_texts < 0:
        raise QxError(f"--tool-texts must be 0 or more, got {args.tool_texts}")
    snapshot = Snapshot.load(args.snapshot)
    extra = []
    if args.tool_texts:
        from training import tool_texts

        extra = tool_texts(snapshot.language) * args.tool_texts
    path = build_tiny_model(snapshot, args.out, config, extra_texts=extra)
    info = json.loads((path / "qx_tiny_model.json").read_text())
    print(f"wrote {path}: {info['parameters']:,} parameters, vocabulary {config.vocab_size:,}")
    return 0


def run_extract(args: argparse.Namespace) -> int:
    from policies import SnapshotRequired, make_policy
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(args.snapshot) if args.snapshot else None
    try:
        policy = make_policy(args.policy, snapshot)
    except SnapshotRequired as exc:
        otherwise = f" (or {exc.otherwise})" if exc.otherwise else ""
        raise QxError(f"policy {exc.policy!r} is fitted on a snapshot: give --snapshot DIR{otherwise}") from None
    for text, queries in zip(args.texts, policy.extract(list(args.texts))):
        print(json.dumps({"text": text, "queries": queries}, ensure_ascii=False) if args.json
              else f"{text[:60]}\n  -> {', '.join(queries) or '(no queries)'}")
    return 0
