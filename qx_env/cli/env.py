"""``qx play`` (step the environment by hand or from a pipe) and ``qx eval`` (score queries)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from qx_env.errors import QxError
from qx_env.flags import comma_list


def _system_flags(parser: argparse.ArgumentParser) -> None:
    from qx_env.cli.search import add_system_flags

    parser.add_argument("snapshot", type=Path, help="snapshot directory")
    add_system_flags(parser)
    parser.add_argument("--split", type=comma_list, default="test", help="train, dev, test or a comma list")


def register(tools: argparse._SubParsersAction) -> None:
    play = tools.add_parser("play", help="explore reports interactively (or from a pipe)")
    _system_flags(play)
    play.add_argument("--budget", type=int, default=5, help="queries per episode (report)")
    play.add_argument("--dynamics", default="removal", choices=("static", "removal", "delayed"),
                      help="what happens to detected items: kept, removed at once, or removed later")
    play.add_argument("--reward", default="new_toxic", help="reward terms, e.g. new_toxic+0.1*query_cost")
    play.add_argument("--report-id", default=None, help="start on this report instead of a seeded pick")
    play.add_argument("--episodes", type=int, default=0, help="stop after this many (0: until input ends)")
    play.add_argument("--seed", type=int, default=0, help="seed of the report order and the dynamics")
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
    evaluate.add_argument("--dynamics", default="static", choices=("static", "removal", "delayed"),
                          help="what happens to detected items between queries")
    evaluate.add_argument("--json", action="store_true",
                          help="print one JSON object: the row and its context (same input, same bytes)")
    evaluate.add_argument("--timings", action="store_true",
                          help="also report wall-clock timings (under \"timings\" with --json; they vary run to run)")
    evaluate.add_argument("--ray", action="store_true",
                          help="run the searches as Ray tasks on a local cluster bound to loopback (or --ray-address); "
                               "the same row as one process")
    evaluate.add_argument("--ray-address", default="", metavar="HOST:PORT",
                          help="run on the existing Ray cluster there, e.g. 10.0.0.5:6379 (the snapshot on storage "
                               "every node sees)")
    evaluate.set_defaults(run=run_eval)


def _at_least(flag: str, value: int, least: int, note: str = "") -> int:
    """``value``, or an error naming the flag when it is below ``least``."""
    if value < least:
        raise QxError(f"{flag} must be >= {least}{note}, got {value}")
    return value


#: Terminal escape sequences (CSI such as the arrow keys' ``\x1b[D``, OSC, and two-character ones):
#: keys a terminal sent, never query text.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]")


def strip_escapes(line: str) -> str:
    """A typed line without terminal escape sequences (arrow keys and the like)."""
    return _ESCAPES.sub("", line)


def _typed_queries(line: str) -> list[str]:
    """The queries of a typed line before they are cleaned (to tell which the search engine cuts)."""
    from qx_env.parsers import has_answer_prefix, parse_answer

    return list(parse_answer(line).queries) if has_answer_prefix(line) else [line]


class _Tally:
    """What ``qx play`` has done so far, for the summary at the end."""

    def __init__(self) -> None:
        self.episodes = self.queries = self.exposed = self.toxic = self.found = 0
        self.reward = 0.0
        self.unfinished = False  # an episode has had steps but is not over

    def add(self, reward: float, info: dict) -> None:
        self.unfinished = True
        self.reward += reward
        for query in info["queries"]:
            self.queries += 1
            self.exposed += len(query["exposed_ids"])
            self.toxic += query["toxic_hits"]
            self.found += query["new_detections"]

    def end_episode(self) -> None:
        self.episodes += 1
        self.unfinished = False

    def summary(self) -> str:
        episodes = self.episodes + int(self.unfinished)
        return (f"=== {episodes} episode(s){' (the last unfinished)' if self.unfinished else ''}: {self.queries} queries, "
                f"{self.exposed} items exposed, {self.toxic} toxic hits, {self.found} toxic items found, "
                f"reward {self.reward:g}")


def _read_line(interactive: bool) -> str | None:
    """The next line typed, or None at the end of input (Ctrl-D)."""
    if interactive:
        try:
            return input("query> ")  # readline (imported by run_play) gives line editing and history
        except EOFError:
            print()  # Ctrl-D leaves the cursor after the prompt
            return None
    line = sys.stdin.readline()
    return line.rstrip("\r\n") if line else None


def run_play(args: argparse.Namespace) -> int:
    from indexes import MAX_QUERY_CHARS
    from qx_env.envs import ExploreEnv
    from qx_env.parsers import ANSWER_PREFIXES, has_answer_prefix, search_queries
    from qx_env.search import SearchSettings

    _at_least("--episodes", args.episodes, 0, " (0: until input ends)")
    _at_least("--show", args.show, 0)
    _at_least("--seed", args.seed, 0)
    settings = SearchSettings.from_flags(args)
    env = ExploreEnv(args.snapshot, modes=settings.modes, k=settings.k, candidates=settings.candidates,
                     ranker=settings.ranker, match=settings.match, budget=args.budget, dynamics=args.dynamics,
                     reward=args.reward, split=args.split, build=settings.build)
    interactive = sys.stdin.isatty()
    if interactive:
        try:
            import readline  # noqa: F401  (input() then edits lines and keeps this session's history)
        except ImportError:  # not on every platform: plain input() still works
            pass
    texts, labels, positions = env.snapshot.texts, env.snapshot.labels, env.snapshot.position_of
    prefix = ANSWER_PREFIXES.get(env.snapshot.language, ANSWER_PREFIXES["zh"])
    print(f"One query per line. Several in one step: the answer format, {prefix}q1,q2,q3. "
          f"Queries are cut at {MAX_QUERY_CHARS} characters. End with Ctrl-D (end of input).")
    tally = _Tally()
    options = {"report_id": args.report_id} if args.report_id else None
    obs, info = env.reset(seed=args.seed, options=options)
    print(f"\n=== report {info['report_id']} (budget {obs['budget']})\n{obs['report']}")
    try:
        while (line := _read_line(interactive)) is not None:
            line = strip_escapes(line)
            if not line.strip():
                continue
            if not has_answer_prefix(line) and not search_queries([line]):
                print("  no query: nothing searchable in that line (nothing spent)")
                continue
            obs, reward, terminated, truncated, info = env.step(line)
            tally.add(reward, info)
            for typed in _typed_queries(line):
                if len(" ".join(typed.split())) > MAX_QUERY_CHARS:
                    print(f"  (a query of {len(typed)} characters was cut at {MAX_QUERY_CHARS}; what was sent "
                          f"is shown below)")
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
                tally.end_episode()
                if args.episodes and tally.episodes >= args.episodes:
                    break
                obs, info = env.reset()
                print(f"\n=== report {info['report_id']} (budget {obs['budget']})\n{obs['report']}")
    except KeyboardInterrupt:
        print(f"\n{tally.summary()}")
        raise
    print(tally.summary())
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
    from qx_env import __version__
    from qx_env.files import file_sha256
    from qx_env.metrics import evaluate_queries
    from qx_env.search import SearchSettings
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(args.snapshot)
    on_ray = args.ray or bool(args.ray_address)
    if on_ray:
        from qx_env.distributed import start_ray

        start_ray(args.ray_address)  # an unreachable cluster fails before any work
    splits = args.split
    reports = snapshot.reports_in(splits)
    if not reports.num_rows:
        counts = snapshot.meta.counts.get("splits", {})
        raise QxError(f"split {','.join(splits)!r} of {args.snapshot} has no reports (reports by split: "
                      f"{', '.join(f'{k} {v}' for k, v in counts.items()) or 'none'}): nothing to evaluate; "
                      f"choose another --split")
    system = SearchSettings.from_flags(args).system(snapshot)  # before a policy reads an index
    timings: dict[str, float] = {}
    if args.annotations:
        source: dict = {"annotations": True}
        queries = dict(zip(reports.column("report_id").to_pylist(), reports.column("annotations").to_pylist()))
    elif args.policy:
        from policies import make_policy

        source = {"policy": args.policy}
        policy = make_policy(args.policy, snapshot)
        started = time.perf_counter()
        extracted = policy.extract(snapshot.report_texts(reports))
        timings["extract_ms_per_report"] = round((time.perf_counter() - started) * 1000 / max(1, reports.num_rows), 2)
        queries = dict(zip(reports.column("report_id").to_pylist(), extracted))
    else:
        queries = read_queries(args.queries)
        source = {"queries": str(args.queries), "sha256": file_sha256(args.queries)}
    known = set(reports.column("report_id").to_pylist())
    unknown = sorted(set(queries) - known)
    if unknown:
        raise QxError(f"{len(unknown)} report id(s) not in split {','.join(splits)!r}, e.g. {unknown[:3]}")
    started = time.perf_counter()
    evaluation = evaluate_queries(system, queries, dynamics=args.dynamics, ray=on_ray, ray_address=args.ray_address)
    metrics = evaluation.metrics
    timings["search_ms_per_query"] = round((time.perf_counter() - started) * 1000 / max(1, metrics.queries), 3)
    row = {"reports": len(queries), **metrics.as_dict()}
    context = {
        "source": source, "split": splits, "modes": list(system.modes), "match": args.match, "k": system.k,
        "candidates": system.candidates, "ranker": args.ranker, "dynamics": args.dynamics,
        "snapshot": {"name": snapshot.meta.name, "fingerprint": snapshot.fingerprint}, "split_rule": snapshot.split_rule,
        "qx_env": __version__,
    }
    if args.json:
        # per-report figures with each report's campaign: what qx compare pairs and resamples
        campaigns = dict(zip(reports.column("report_id").to_pylist(), snapshot.report_campaigns(reports)))
        print(json.dumps({**row, "context": context, "per_report": evaluation.per_report(campaigns),
                          **({"timings": timings} if args.timings else {})}, ensure_ascii=False))
    else:
        print(f"| reports | hit@{args.k} | distinct | # queries | # effective | query hit rate |")
        print("|---|---|---|---|---|---|")
        print(f"| {row['reports']} | {metrics.hit_at_k} | {metrics.distinct_hits} | {metrics.queries} | "
              f"{metrics.effective_queries} | {metrics.hit_rate:.3f} |")
        if args.timings:
            print("timings: " + ", ".join(f"{name} {value:g}" for name, value in timings.items()))
    return 0
