"""``qx extract``: run a policy on texts and print its queries."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(tools: argparse._SubParsersAction) -> None:
    extract = tools.add_parser("extract", help="extract queries from texts with a policy")
    extract.add_argument("texts", nargs="+", metavar="TEXT")
    extract.add_argument("--policy", required=True, help="name[:key=value,...], e.g. tfidf:top=3")
    extract.add_argument("--snapshot", type=Path, default=None, help="snapshot the policy is fitted on")
    extract.add_argument("--json", action="store_true")
    extract.set_defaults(run=run_extract)


def run_extract(args: argparse.Namespace) -> int:
    from policies import make_policy
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(args.snapshot) if args.snapshot else None
    policy = make_policy(args.policy, snapshot)
    for text, queries in zip(args.texts, policy.extract(list(args.texts))):
        print(json.dumps({"text": text, "queries": queries}, ensure_ascii=False) if args.json
              else f"{text[:60]}\n  -> {', '.join(queries) or '(no queries)'}")
    return 0
