"""The decisive benchmark: named policies over a frozen suite of worlds, in every retrieval mode, with
the floor (random spans) and the ceiling (the label-reading oracle) beside the baselines; the test
reports of the worlds pooled; every rate with a 95% interval over campaigns (worlds as strata) and
every comparison paired on the same reports, with its interval, a sign-flip p-value (Holm across the
table) and the minimal detectable difference.

    python -m benchmarks.suite --spec zh-1M-v2        # also: qx bench suite

Worlds are made once under ``--root`` (indexes built once, reused); each (world, policy, mode) cell
is written under ``--out`` as it finishes, so a killed run resumes where it stopped, and
``--worlds`` runs some of the worlds only (one shard per machine; a last run without it pools them).
Cells are keyed by the world and what is evaluated on it, not by the suite, so suites that share
worlds (zh-1M-v1 is zh-1M-v2's first three) share their cells under one ``--out``.
Writes results.json, table.md and suite.png.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import describe_run, markdown_table, parse_args
from benchmarks._comparisons import (
    BETWEEN_WORLDS,
    between_worlds_cell,
    difference_cells,
    modes_table,
    rate_columns,
    stack_worlds,
    table_comparisons,
)
from benchmarks._worlds import WorldSpec, ensure_world, load_spec
from benchmarks.modes import MODES, BarFigure, figure_data, parse_mode, parse_modes, plot, search_system
from qx_env.errors import QxError
from qx_env.files import write_text_atomic
from qx_env.flags import SpecList

#: The floor and the ceiling that frame every policy table.
FLOOR, CEILING = "random-span", "oracle"
#: The policies a suite runs by default: floor, the paper's baselines (annotation is its Human, seqlabel its
#: Bi-LSTM-CRF, trained on each world's train reports), ours (ngram, textrank), ceiling.
POLICIES = (FLOOR, "annotation", "tfidf", "seqlabel", "ngram", "textrank", CEILING)


@dataclass
class Args:
    spec: str = "zh-1M-v2"
    """The suite: a spec of benchmarks/suites/ by name, or a spec file. zh-1M-v2 (six worlds) detects 0.05
    between any two baselines in keyword exact; zh-1M-v1 (three, about half the time) does not for seqlabel."""
    policies: SpecList = POLICIES
    """Policy specs, comma-separated (random-span is the floor, oracle the ceiling)."""
    modes: SpecList = MODES
    """Retrieval modes, comma-separated; keyword:match=bm25 for bm25."""
    reference: str = "annotation"
    """The policy every other is compared with, in each mode (the paper's Human)."""
    reference_mode: str = "keyword"
    """The mode every other is compared with, for each policy (the paper's keyword exact matching)."""
    worlds: tuple[int, ...] = ()
    """Run only these seeds of the spec (a shard); empty: all, and pool them."""
    root: str = "snapshots/suites"
    """Where the worlds are made: a folder per kind of world (language, size, share, encoder, split), one per seed."""
    out: str = "reports/bench/suite"
    """Output directory: cells/, results.json, table.md, suite.png."""
    ray: bool = False
    """Run each evaluation's searches as Ray tasks (a local cluster on loopback): the same rows."""
    jobs: int = 1
    """Processes at once (synthesis, counting and most of the evaluation use one core each): 2 on a 2-core
    machine. Each world is made by one task, then each of its policies is a task; the cells, hence the
    tables, are the same."""


# ---- cells: one (world, policy, mode) each, written as they finish ------------------------------------
def cell_folder(spec: WorldSpec) -> str:
    """The cells' folder of a kind of world and what is evaluated on it (k, split): suites that differ only
    in their seeds (zh-1M-v1 is v2's first three worlds) share their worlds and their cells."""
    return f"{spec.directory_name}-k{spec.raw['k']}-{spec.raw['evaluate']}"


def cell_path(out: Path, spec: WorldSpec, seed: int, policy: str, mode: str) -> Path:
    safe = {ord(c): "_" for c in ":=,/"}
    return out / "cells" / cell_folder(spec) / f"seed-{seed}" / mode.translate(safe) / f"{policy.translate(safe)}.json"


def world_key(spec: WorldSpec, seed: int) -> str:
    """What the generator was asked for (every field of its configuration, e.g. ``everyday_scale``), hashed:
    part of each cell's key, so a cell computed on a world an older generator made is redone, not pooled."""
    import hashlib
    from dataclasses import asdict

    config = json.dumps(asdict(spec.synth_config(seed)), sort_keys=True, default=list)
    return hashlib.sha256(config.encode()).hexdigest()[:12]


def cell_key(spec: WorldSpec, seed: int, policy: str, mode: str) -> dict:
    """Everything a cell's figures depend on: the world (generator configuration, encoder), what is
    evaluated (split, k), the policy (and its revision) and the mode; not the suite's name or its other
    seeds."""
    from policies import policy_class

    return {"world": world_key(spec, seed), "encoder": spec.raw["encoder"], "seed": seed,
            "evaluate": spec.raw["evaluate"], "k": spec.raw["k"], "policy": policy,
            "revision": policy_class(policy).revision, "mode": mode}


def read_cell(path: Path, key: dict) -> dict | None:
    """A finished cell with this key, or None (missing, unreadable or made for something else: redone)."""
    try:
        cell = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return cell if cell.get("key") == key else None


def pending_cells(spec: WorldSpec, seed: int, args: Args, modes: list[str],
                  out: Path) -> tuple[list[dict], dict[str, list[tuple[str, Path, dict]]]]:
    """One world's cells already written, and the missing ones by policy: ``(mode, path, key)`` each."""
    cells: list[dict] = []
    todo: dict[str, list[tuple[str, Path, dict]]] = {}
    for mode in modes:
        for policy in args.policies:
            path, key = cell_path(out, spec, seed, policy, mode), cell_key(spec, seed, policy, mode)
            cell = read_cell(path, key)
            if cell:
                cells.append(cell)
            else:
                todo.setdefault(policy, []).append((mode, path, key))
    return cells, todo


def training_first(policies: list[str]) -> list[str]:
    """Policies that fit a model when made (the Bi-LSTM-CRF: minutes at a million items) before the rest,
    so that a pool of processes does not end on one of them alone."""
    from policies import policy_class

    return sorted(policies, key=lambda p: not policy_class(p).trains)


#: The world this process opened last, by (root, kind of world, seed): a process's policy tasks of one world
#: open it once.
_opened: dict[tuple[str, str, int], object] = {}


def build_world(spec: WorldSpec, seed: int, args: Args, modes: list[str]):
    """The world of ``seed`` with every index the modes need (made once under ``args.root``; held open)."""
    where = (args.root, spec.directory_name, seed)
    if where not in _opened:
        _opened.clear()
        _opened[where] = ensure_world(spec, seed, Path(args.root), [parse_mode(m)[0] for m in modes])
    return _opened[where]


def make_world(spec: WorldSpec, seed: int, args: Args, modes: list[str]) -> None:
    """:func:`build_world` in a worker process, answering with nothing rather than shipping the world back."""
    build_world(spec, seed, args, modes)


def run_policy(spec: WorldSpec, seed: int, args: Args, policy: str, wanted: list[tuple[str, Path, dict]],
               snapshot=None) -> list[dict]:
    """One policy's missing cells on one world, each written as it finishes: its queries extracted once
    and evaluated in each mode; the modes' search systems share one retrieval cache, so the hybrid mode
    fuses the graph walks the graph mode made rather than walking again (the same rows)."""
    from benchmarks.modes import extract_queries
    from qx_env.metrics import evaluate_queries

    snapshot = snapshot or build_world(spec, seed, args, list(args.modes))
    split = spec.raw["evaluate"]
    reports = snapshot.reports_in(split)
    campaigns = dict(zip(reports.column("report_id").to_pylist(), snapshot.report_campaigns(reports)))
    extracted = extract_queries(snapshot, policy, split)
    retrieved: dict[tuple, object] = {}
    cells = []
    for mode, path, key in sorted(wanted, key=lambda w: w[0] == "hybrid"):  # hybrid after the modes it fuses
        system = search_system(snapshot, mode, k=spec.raw["k"], retrieval_cache=retrieved)
        started = time.perf_counter()
        evaluation = evaluate_queries(system, extracted.queries, ray=args.ray)
        cell = {"key": key, **evaluation.metrics.as_dict(), "per_report": evaluation.per_report(campaigns),
                "snapshot": {"path": str(snapshot.path), "fingerprint": snapshot.fingerprint,
                             "split_rule": snapshot.split_rule},
                "extract_ms_per_report": round(1000 * extracted.seconds_per_report, 2),
                "search_ms_per_query": round(1000 * (time.perf_counter() - started)
                                             / max(1, evaluation.metrics.queries), 3)}
        write_text_atomic(path, json.dumps(cell, ensure_ascii=False))
        cells.append(cell)
    return cells


def run_world(spec: WorldSpec, seed: int, args: Args, modes: list[str], out: Path) -> list[dict]:
    """Every (policy, mode) cell of one world, read when already written, else evaluated and written."""
    from tqdm.auto import tqdm

    cells, todo = pending_cells(spec, seed, args, modes, out)
    if not todo:
        return cells
    snapshot = build_world(spec, seed, args, modes)
    for policy in tqdm(training_first(list(todo)), desc=f"world {seed}: policies"):
        cells += run_policy(spec, seed, args, policy, todo[policy], snapshot)
    return cells


def count_cells(spec: WorldSpec, seed: int, args: Args, policy: str, wanted: list[tuple[str, Path, dict]]) -> int:
    """:func:`run_policy` in a worker process, answering with a count rather than shipping the cells back."""
    return len(run_policy(spec, seed, args, policy, wanted))


def run_worlds_at_once(spec: WorldSpec, seeds: list[int], args: Args, modes: list[str], out: Path) -> None:
    """The worlds' missing cells made in ``args.jobs`` processes at once (spawned: each starts its own JVM),
    in tasks small enough to keep every process busy: each world is made (synthesized and indexed) by one
    task, then each of its policies is a task of its own (extracted once, evaluated in every mode), the
    policies that train first. They are written under ``out`` and read back by the caller."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from tqdm.auto import tqdm

    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {}
        for seed in seeds:
            todo = pending_cells(spec, seed, args, modes, out)[1]
            if todo:
                running[pool.submit(make_world, spec, seed, args, modes)] = (seed, todo)
        tasks = sum(1 + len(todo) for _, todo in running.values())
        with tqdm(total=tasks, desc=f"{spec.label}: worlds and policies") as progress:
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    seed, todo = running.pop(future)
                    future.result()  # a failed task fails the run, naming its error
                    progress.update()
                    for policy in training_first(list(todo or {})):
                        running[pool.submit(count_cells, spec, seed, args, policy, todo[policy])] = (seed, None)


# ---- pooling and comparing ----------------------------------------------------------------------------
def pooled_columns(cells: list[dict]) -> tuple[dict[str, list], list[str]]:
    """The per-report columns of cells of several worlds, one after another, and each report's world."""
    ordered = sorted(cells, key=lambda c: c["key"]["seed"])
    return stack_worlds((f"seed-{c['key']['seed']}", c["per_report"], f"seed-{c['key']['seed']}/") for c in ordered)


def summarize(cells: list[dict], spec: WorldSpec, policies: list[str], modes: list[str], reference: str,
              reference_mode: str) -> dict:
    """Rows (each policy x mode, pooled and per world) and the paired comparisons, Holm-adjusted together."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for cell in cells:
        grouped.setdefault((cell["key"]["policy"], cell["key"]["mode"]), []).append(cell)
    rows, pooled = [], {}
    for mode in modes:
        for policy in policies:
            group = grouped[policy, mode]
            columns, worlds = pooled_columns(group)
            pooled[policy, mode] = (columns, worlds)
            queries = sum(c["queries"] for c in group)
            row = {"policy": policy, "mode": mode, "ranker": "retrieval",
                   "role": "floor" if policy.startswith(FLOOR) else "ceiling" if policy.startswith(CEILING)
                   else "baseline",
                   "worlds": len(group), "queries": queries,
                   "effective_queries": sum(c["effective_queries"] for c in group),
                   "distinct_hits": sum(c["distinct_hits"] for c in group),
                   # chance and base rate pooled over worlds, weighted by queries (each world's own line)
                   "chance_hit_rate": round(sum(c.get("chance_hit_rate", 0) * c["queries"] for c in group)
                                            / max(1, queries), 4),
                   "base_rate": round(sum(c.get("base_rate", 0) for c in group) / len(group), 6),
                   "per_world": {f"seed-{c['key']['seed']}": {"query_hit_rate": c["query_hit_rate"],
                                                              "precision": c["precision"], "queries": c["queries"]}
                                 for c in sorted(group, key=lambda c: c["key"]["seed"])},
                   **rate_columns(columns, worlds)}
            rows.append(row)
    return {"rows": rows, "comparisons": table_comparisons(pooled, policies, modes, reference, reference_mode)}


def paper_claims(cells: list[dict]) -> list[dict]:
    """The paper's claims (a) and (b) on the suite's worlds, as the fidelity bench states and decides them
    (:func:`benchmarks.fidelity.mode_claims`, :func:`~benchmarks.fidelity.policy_claims`): its synthetic
    policies' rows, paired on the pooled test reports, worlds as strata, Holm across the claims."""
    from benchmarks.fidelity import SYNTH, SYNTH_POLICIES, decide, mode_claims, policy_claims

    by_seed: dict[int, dict] = {}
    for cell in cells:
        if cell["key"]["policy"] in SYNTH_POLICIES:
            seed = cell["key"]["seed"]
            by_seed.setdefault(seed, {"cell": {"seed": seed}, "rows": []})["rows"].append(
                {"policy": cell["key"]["policy"], "mode": cell["key"]["mode"], "per_report": cell["per_report"]})
    worlds = [by_seed[seed] for seed in sorted(by_seed)]
    if not worlds:
        return []
    modes = {row["mode"] for world in worlds for row in world["rows"]}
    claims = mode_claims(SYNTH, worlds) if "keyword" in modes else []
    return decide(claims + policy_claims(worlds))


def rows_table(rows: list[dict], comparisons: list[dict], reference: str) -> str:
    """Policies x modes: rates with intervals, chance, precision, and the difference from the reference."""
    against = {(c["within"], c["compared"]): c for c in comparisons if c["kind"] == "policy"}
    header = ["mode", "policy", "role", "queries", "query hit rate [95% CI]", "chance", "precision [95% CI]",
              "base rate", f"minus {reference} [95% CI]", "p (Holm)", "detectable", BETWEEN_WORLDS]
    body = []
    for r in rows:
        body.append([r["mode"], r["policy"], r["role"], r["queries"],
                     f"{r['query_hit_rate']:.3f} [{r['query_hit_rate_ci'][0]:.3f}, {r['query_hit_rate_ci'][1]:.3f}]",
                     f"{r['chance_hit_rate']:.3f}",
                     f"{r['precision']:.3f} [{r['precision_ci'][0]:.3f}, {r['precision_ci'][1]:.3f}]",
                     f"{r['base_rate']:.4f}", *difference_cells(against.get((r["mode"], r["policy"]))),
                     between_worlds_cell(against.get((r["mode"], r["policy"])))])
    return markdown_table(header, body)


def header(spec: WorldSpec, rows: list[dict], run: dict) -> str:
    first = rows[0]
    machine = run["machine"]
    return (f"{spec.label}: {len(spec.seeds)} worlds of {spec.raw['items']:,} {spec.raw['language']} items at toxic "
            f"share {spec.raw['toxic_share']:g}, split by {spec.raw['split']['rule']}; {spec.raw['evaluate']} reports "
            f"pooled: {first['reports']} reports in {first['campaigns']} campaigns ({first['singletons']} singletons); "
            f"k={spec.raw['k']}. Intervals: bootstrap over campaigns, worlds as strata; p: paired sign-flip over "
            f"campaigns, Holm across the table; detectable: minimal detectable difference at 80% power; between "
            f"worlds: the mean of the worlds' own differences, with Student's t-interval over worlds (what another "
            f"draw of worlds could give; the campaign interval is conditional on these worlds).\n"
            f"Command: python -m benchmarks.suite --spec {spec.path.stem}; commit {run['git_commit']}; machine "
            f"{machine['platform']}, {machine['cpus']} CPUs.")


def main(args: Args) -> dict:
    spec = load_spec(args.spec)
    modes = parse_modes(args.modes)
    policies = list(dict.fromkeys(args.policies))
    if not policies:
        raise QxError("no policy given")
    from policies import policy_names
    from qx_env.specs import split_spec

    unknown = [p for p in policies if split_spec(p)[0] not in policy_names()]
    if unknown:
        raise QxError(f"unknown policy {unknown[0]!r}; choose from {', '.join(policy_names())}")
    if args.jobs < 1:
        raise QxError(f"--jobs must be at least 1, got {args.jobs}")
    seeds = list(args.worlds) or spec.seeds
    strangers = [s for s in seeds if s not in spec.seeds]
    if strangers:
        raise QxError(f"--worlds {strangers[0]} is not a seed of {spec.label} (its seeds: {spec.seeds})")
    out = Path(args.out)
    started = time.perf_counter()
    if args.jobs > 1:
        run_worlds_at_once(spec, seeds, args, modes, out)
    cells = [cell for seed in seeds for cell in run_world(spec, seed, args, modes, out)]
    if args.worlds and set(seeds) != set(spec.seeds):
        print(f"ran worlds {seeds} of {spec.label}; run without --worlds to pool all {len(spec.seeds)}")
        return {"cells": len(cells)}
    summary = summarize(cells, spec, policies, modes, args.reference, args.reference_mode)
    from benchmarks.fidelity import claims_table

    summary["claims"] = paper_claims(cells)
    run = describe_run(args)
    text = (header(spec, summary["rows"], run) + "\n\n" + rows_table(summary["rows"], summary["comparisons"],
                                                                      args.reference)
            + "\n\n" + modes_table(summary["comparisons"], args.reference_mode)
            + ("\n\nThe paper's claims on these worlds (benchmarks.fidelity's rules):\n\n" + claims_table(summary["claims"])
               if summary["claims"] else ""))
    results = {"suite": spec.as_dict(), **summary, "seconds": round(time.perf_counter() - started, 1), **run}
    write_text_atomic(out / "results.json", json.dumps(results, indent=1, ensure_ascii=False))
    write_text_atomic(out / "table.md", text + "\n")
    title = (f"{spec.label}, {spec.raw['evaluate']} reports of {len(spec.seeds)} worlds pooled "
             f"({summary['rows'][0]['reports']} reports, {summary['rows'][0]['campaigns']} campaigns), "
             f"k={spec.raw['k']}\nerror bars: 95% bootstrap over campaigns, worlds as strata")
    figure: BarFigure = figure_data(summary["rows"], title)
    plot(figure, out / "suite.png")
    print(text)
    print(f"\nwrote {out / 'results.json'}, {out / 'table.md'} and {out / 'suite.png'}")
    return results


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
