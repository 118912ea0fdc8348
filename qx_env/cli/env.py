"""``qx play`` (step the environment by hand or from a pipe) and ``qx eval`` (score queries)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from qx_env.errors import QxError


def _system_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--mode", default="keyword", help="keyword, embedding, graph, hybrid, or a comma list")
    parser.add_argument("--match", choices=("exact", "bm25"), default="exact")
    parser.add_argument("--ranker", default="retrieval", metavar="SPEC",
                        help="retrieval, risk, oracle[:auc=0.8], lm:path=DIR[,kind=judge] or scores:path=DIR")
    parser.add_argument("-k", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--split", default="test", help="train, dev, test or a comma list")


def register(tools: argparse._SubParsersAction) -> None:
    play = tools.add_parser("play", help="explore reports interactively (or from a pipe)")
    _system_flags(play)
    play.add_argument("--budget", type=int, default=5)
    play.add_argument("--dynamics", default="removal", choices=("static", "removal", "delayed"))
    play.add_argument("--reward", default="new_toxic")
    play.add_argument("--report-id", default=None)
    play.add_argument("--episodes", type=int, default=0, help="stop after this many (0: until input ends)")
    play.add_argument("--seed", type=int, default=0)
    play.add_argument("--show", type=int, default=5, help="exposed items printed per query")
    play.set_defaults(run=run_play)

    evaluate = tools.add_parser("eval", help="score queries per report: the paper's Table 5 row")
    _system_flags(evaluate)
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--queries", type=Path,
                        help='JSONL: {"report_id": ..., "queries": [...]} or {"report_id": ..., "answer": "..."}')
    source.add_argument("--annotations", action="store_true",
                        help="the auditors' annotated phrases of the split's reports (the paper's Human row)")
    source.add_argument("--policy", help="run a policy (name[:key=value,...]) on the split's report texts")
    evaluate.add_argument("--dynamics", default="static", choices=("static", "removal", "delayed"))
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.set_defaults(run=run_eval)


def _splits(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _modes(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def run_play(args: argparse.Namespace) -> int:
    from qx_env.envs import ExploreEnv

    env = ExploreEnv(args.snapshot, modes=_modes(args.mode), k=args.k, candidates=max(args.k, args.candidates),
                     ranker=args.ranker, match=args.match, budget=args.budget, dynamics=args.dynamics,
                     reward=args.reward, split=_splits(args.split))
    interactive = sys.stdin.isatty()
    texts, labels, positions = env.snapshot.texts, env.snapshot.labels, env.snapshot.position_of
    episodes = 0
    options = {"report_id": args.report_id} if args.report_id else None
    obs, info = env.reset(seed=args.seed, options=options)
    print(f"\n=== report {info['report_id']} (budget {obs['budget']})\n{obs['report']}")
    while True:
        if interactive:
            print("query> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            break
        line = line.rstrip("\n")
        if not line.strip():
            continue
        obs, reward, terminated, truncated, info = env.step(line)
        for query in info["queries"]:
            print(f"  {query['query']!r}: {len(query['exposed_ids'])} exposed, {query['toxic_hits']} toxic, "
                  f"{query['new_detections']} new")
            for item_id in query["exposed_ids"][: args.show]:
                position = positions[item_id]
                mark = "HIT" if labels[position] else "   "
                print(f"    {mark} {item_id} {texts[position][:80]}")
        print(f"  reward {reward:g} {info['reward_components']}  budget left {obs['budget']}")
        if terminated or truncated:
            totals = info["totals"]
            print(f"=== episode over: {totals['queries']} queries, {totals['effective_queries']} effective, "
                  f"{totals['new_detections']} toxic items detected")
            episodes += 1
            if args.episodes and episodes >= args.episodes:
                break
            obs, info = env.reset()
            print(f"\n=== report {info['report_id']} (budget {obs['budget']})\n{obs['report']}")
    return 0


def read_queries(path: Path) -> dict[str, list[str]]:
    """``report_id -> queries`` from JSONL lines with ``queries`` (a list) or ``answer`` (paper format)."""
    from qx_env.jsonl import read_jsonl
    from qx_env.parsers import parse_answer

    result: dict[str, list[str]] = {}
    for number, row in enumerate(read_jsonl(path, what="queries file"), start=1):
        if not isinstance(row.get("report_id"), str):
            raise QxError(f"{path}: row {number} needs a string 'report_id'")
        if isinstance(row.get("queries"), list) and all(isinstance(q, str) for q in row["queries"]):
            queries = row["queries"]
        elif isinstance(row.get("answer"), str):
            queries = list(parse_answer(row["answer"]).queries)
        else:
            raise QxError(f"{path}: row {number}: give 'queries' (a list of strings) or 'answer' (a string)")
        result.setdefault(row["report_id"], []).extend(queries)
    return result


def run_eval(args: argparse.Namespace) -> int:
    from qx_env.metrics import evaluate_queries
    from qx_env.search import SearchSystem
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(args.snapshot)
    reports = snapshot.reports_in(_splits(args.split))
    if args.annotations:
        queries = dict(zip(reports.column("report_id").to_pylist(), reports.column("annotations").to_pylist()))
    elif args.policy:
        from policies import make_policy

        policy = make_policy(args.policy, snapshot)
        started = time.perf_counter()
        extracted = policy.extract(snapshot.report_texts(reports))
        seconds_per_report = (time.perf_counter() - started) / max(1, reports.num_rows)
        queries = dict(zip(reports.column("report_id").to_pylist(), extracted))
    else:
        queries = read_queries(args.queries)
    known = set(reports.column("report_id").to_pylist())
    unknown = sorted(set(queries) - known)
    if unknown:
        raise QxError(f"{len(unknown)} report id(s) not in split {args.split!r}, e.g. {unknown[:3]}")
    system = SearchSystem(snapshot, modes=_modes(args.mode), k=args.k, candidates=max(args.k, args.candidates),
                          ranker=args.ranker, match=args.match)
    metrics = evaluate_queries(system, queries, dynamics=args.dynamics).metrics
    row = {"reports": len(queries), **metrics.as_dict()}
    if args.policy:
        row["policy"] = args.policy
        row["extract_ms_per_report"] = round(seconds_per_report * 1000, 2)
    if args.json:
        print(json.dumps(row))
    else:
        print(f"| reports | hit@{args.k} | distinct | # queries | # effective | query hit rate |")
        print("|---|---|---|---|---|---|")
        print(f"| {row['reports']} | {metrics.hit_at_k} | {metrics.distinct_hits} | {metrics.queries} | "
              f"{metrics.effective_queries} | {metrics.hit_rate:.3f} |")
    return 0
