"""Does the simulated platform behave like the paper's? The paper's claims, measured over seeds on
the synthetic default and on real toxic corpora planted in a benign background, each beside its
chance line (the hit rate of as many items drawn at random from the live items) and its precision
(the toxic share of the exposed items).

    python -m benchmarks.fidelity --seeds 0,1,2        # also: qx bench fidelity

Claims (a) and (b) are paired comparisons on the same test reports, pooled over seeds (worlds as
strata): the difference, its 95% interval from a bootstrap over campaigns, a sign-flip p-value over
campaigns (Holm across those claims) and the minimal detectable difference at 80% power; each "holds"
(significant in the claimed direction), is "reversed" (significant the other way), "does not hold"
(the test could detect the paper's effect and found none), or is "undecided" (the detectable
difference exceeds the paper's effect: the test set is too small to tell). The others are read over
seeds ("holds", "does not hold", or "unclear" when the 95% interval over seeds spans the line the
claim draws):
  (a) keyword exact has a higher query hit rate than embedding and graph retrieval (bm25 and hybrid
      beside, as extensions: the paper has neither);
  (b) Human > TF-IDF > Bi-LSTM-CRF in query hit rate, by the paper's margins (synthetic only: real
      reports carry no auditor annotations);
  (c) SFT+DPO at tau 0.05 beats SFT, and tau 0.05 gains at least as much as tau 0.01 (from a
      training headline run: ``--train`` runs one, ``--training-results`` reads one);
  (d) a model's online increments over the human queries are positive and in the tens of percent;
  (e) junk queries earn nothing in every mode;
  (f) the character n-gram classifier's held-out AUC on the synthetic corpus lies in the band of
      the real corpora's.
A sweep over prevalence and corpus size (synthetic, first seed) shows where, if anywhere, exact
matching overtakes the broad modes. Every cell (corpus x seed x prevalence x size) is cached under
``--work`` and a rerun resumes; with ``--suite`` the synthetic cells are the suite's worlds (made
and indexed once, shared with ``qx bench suite``); with ``--ray`` the cells not cached yet run as Ray tasks, each
writing its cache, and this process reads them. Writes results.json, table.md and fidelity.png.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks._common import (
    describe_run,
    markdown_table,
    parse_args,
    pyplot,
    save_figure_atomic,
)
from benchmarks._comparisons import stack_worlds
from benchmarks.modes import MODES, evaluate_grid, extract_queries, search_system
from qx_env.errors import QxError
from qx_env.files import write_text_atomic
from qx_env.flags import SpecList

SYNTH = "synth"
#: Queries with no content (punctuation, symbols, emoji, one Latin letter or digit, whitespace).
JUNK_QUERIES = ("((((", "!!!", '"', "，,，", "😀" * 50, "a", "7", " ", "★☆", "~~~", "...", "【】")
#: Policies per kind of corpus: composed reports carry no annotations, so neither the Human nor
#: the Bi-LSTM-CRF (which learns from annotations) can run there.
SYNTH_POLICIES = ("annotation", "tfidf", "seqlabel", "textrank")
REAL_POLICIES = ("tfidf", "textrank")
#: Claim (d): Table 7's increments of the deployed model over the auditors alone, 20 weeks online:
#: +59.9% toxic item detections, +39.9% hit queries.
PAPER_INCREMENTS = {"detections": 0.599, "hit_queries": 0.399}
#: The paper's effects in query hit rate, the differences a test set must be able to detect: Table 5,
#: Human 0.489, TF-IDF 0.423, Bi-LSTM-CRF 0.400.
PAPER_EFFECTS = {"human-tfidf": 0.489 - 0.423, "tfidf-bilstm": 0.423 - 0.400,
                 # Table 5: Qwen1.5-7B-Chat SFT 0.508, QExplorer (SFT+DPO at tau 0.05) 0.561
                 "dpo-sft": 0.561 - 0.508}
#: Claim (a) is qualitative in the paper ("more effective"), so its smallest difference of interest is
#: 0.05 in query hit rate: with 50 topics only differences of about 0.05 are trustworthy (Voorhees and
#: Buckley, SIGIR 2002).
SMALLEST_INTERESTING = 0.05
#: The paper's retrieval modes besides keyword exact (claim (a)); the others are extensions.
PAPER_MODES = ("embedding", "graph")
#: Cached cells of another version are measured again (2: per-report figures carry each report's campaign;
#: 3: the online day's per-report detections and hit queries, for claim (d)'s campaign bootstrap).
CELL_VERSION = 3


@dataclass
class Args:
    seeds: tuple[int, ...] = (0, 1, 2)
    """Corpus seeds; every claim is measured on each."""
    items: int = 200_000
    """Synthetic corpus size."""
    corpora: tuple[str, ...] = (SYNTH, "harm-zh", "fbs-zh")
    """Synth and/or compose presets planted at their default share."""
    data_dir: str = "../shared/data"
    """The real corpora, for the presets."""
    background_items: int = 300_000
    """Synthetic normals added to a preset's real benign texts; 0: the preset's auto."""
    report_share: float = 0.6
    """Share of a preset's toxic items reported: the synthetic default, for comparable counts."""
    toxic_share: float = 0.0
    """Synthetic prevalence; 0 keeps the generator's default."""
    prevalences: tuple[float, ...] = (0.0005, 0.001, 0.003, 0.01, 0.03)
    """Synthetic sweep (first seed); empty skips it."""
    sweep_items: int = 60_000
    """Corpus size of the prevalence sweep."""
    sizes: tuple[int, ...] = (20_000, 60_000, 200_000)
    """Synthetic sweep (first seed, default prevalence); empty skips it."""
    k: int = 100
    """Items exposed per query."""
    train: bool = False
    """Claim (c): run the training headline here (slow: about 15 min on 2 cores)."""
    training_results: str = ""
    """Claim (c) from the results.json of `qx bench training` instead."""
    online_model: str = "tfidf"
    """Claim (d): the policy whose queries follow the human ones online."""
    synth_policies: SpecList = SYNTH_POLICIES
    """On the synthetic corpus (annotation = Human, seqlabel = Bi-LSTM-CRF)."""
    real_policies: SpecList = REAL_POLICIES
    """On planted real corpora (no annotations there)."""
    out: str = "reports/bench/fidelity"
    """Output directory: results.json, table, plot."""
    work: str = ""
    """Snapshots, indexes and cached cells; default OUT/work."""
    ray: bool = False
    """Run the cells not cached yet as Ray tasks (a local cluster on loopback, or --ray-address), each writing
    its cache; the same results. Cells run side by side, so memory adds up."""
    ray_address: str = ""
    """An existing Ray cluster, e.g. 10.0.0.5:6379 (implies --ray; --work and --data-dir on storage every node
    sees)."""
    suite: str = ""
    """The synthetic cells are this suite's worlds (e.g. zh-1M-v1; its seeds replace --seeds and its size
    --items for them); empty: synthesize --items at each seed."""
    suite_root: str = "snapshots/suites"
    """Where the suite's worlds are (as qx bench suite --root)."""


# ---- one cell: a corpus at a seed, prevalence and size ------------------------------------------
@dataclass(frozen=True)
class Cell:
    corpus: str
    seed: int
    toxic_share: float
    """0: the corpus's default."""
    items: int
    """Synthetic only."""

    suite: str = ""
    """The suite spec whose world this synthetic cell is (empty: synthesized here)."""

    @property
    def key(self) -> str:
        if self.suite:
            from benchmarks._worlds import load_spec

            return f"suite-{load_spec(self.suite).hash}-s{self.seed}"
        share = f"p{self.toxic_share:g}" if self.toxic_share else "pdefault"
        size = f"-n{self.items}" if self.corpus == SYNTH else ""
        return f"{self.corpus}-s{self.seed}-{share}{size}"


def make_snapshot(cell: Cell, args: Args, work: Path):
    """The cell's snapshot with every index built (made once, reused by later runs)."""
    from indexes import MODES as INDEX_MODES
    from indexes import build_indexes
    from qx_env import Snapshot

    if cell.suite:
        from benchmarks._worlds import ensure_world, load_spec

        return ensure_world(load_spec(cell.suite), cell.seed, Path(args.suite_root), list(INDEX_MODES))
    path = work / "snapshots" / cell.key
    if not (path / "meta.json").is_file():
        if cell.corpus == SYNTH:
            from qx_env.corpus import SynthConfig, synthesize

            options = {"toxic_share": cell.toxic_share} if cell.toxic_share else {}
            snapshot = synthesize(SynthConfig(items=cell.items, seed=cell.seed, **options))
        else:
            from qx_env.corpus import compose, get_preset

            options = {"toxic_share": cell.toxic_share} if cell.toxic_share else {}
            if args.background_items:
                options["background_items"] = args.background_items
            snapshot = compose(get_preset(cell.corpus), args.data_dir, seed=cell.seed, report_share=args.report_share,
                               **options)
        snapshot.save(path, overwrite=True)
    snapshot = Snapshot.load(path)
    missing = [m for m in INDEX_MODES if not (path / "indexes" / m / "index.json").is_file()]
    if missing:
        build_indexes(snapshot, modes=missing)
    return snapshot


def junk_exposure(snapshot, k: int) -> dict[str, int]:
    """Items the junk queries expose in each mode (and toxic ones among them)."""
    result = {}
    for mode in MODES:
        system = search_system(snapshot, mode, "retrieval", k)
        hits = system.batch_search(list(JUNK_QUERIES))
        result[mode] = sum(len(h) for h in hits)
        result[f"{mode}_toxic"] = int(sum(snapshot.labels[h.positions].sum() for h in hits))
    return result


def human_by_kind(snapshot, k: int) -> dict[str, dict]:
    """The Human row taken apart: the test reports' annotated phrases of each kind (good, loose, verbose,
    broad, pattern: the synthetic auditors' mix, ``qx_env.corpus.synth._annotations.KIND_WEIGHTS``) searched
    alone in keyword exact; each kind's queries, query hit rate and precision. Human's rate is their
    query-weighted mean, so the mix, a modelling choice, sets it."""
    from qx_env.metrics import evaluate_queries

    reports = snapshot.reports_in("test")
    if "annotation_kinds" not in reports.column_names:
        return {}
    ids = reports.column("report_id").to_pylist()
    pairs = list(zip(reports.column("annotations").to_pylist(), reports.column("annotation_kinds").to_pylist()))
    system = search_system(snapshot, "keyword", "retrieval", k)
    result = {}
    for kind in sorted({kind for _, kinds in pairs for kind in kinds}):
        queries = {r: [p for p, kk in zip(phrases, kinds) if kk == kind] for r, (phrases, kinds) in zip(ids, pairs)}
        metrics = evaluate_queries(system, queries).metrics
        result[kind] = {"queries": metrics.queries, "query_hit_rate": round(metrics.hit_rate, 4),
                        "precision": round(metrics.precision, 4)}
    return result


def online_increments(snapshot, human: dict, model: dict, seed: int, k: int) -> dict:
    """Claim (d): the model's queries after the human ones over a simulated day (keyword exact), with each
    report's detections and hit queries in the human-only and the combined day, and its campaign."""
    from benchmarks.online import day_order, increment_columns
    from qx_env.metrics import online_increment

    system = search_system(snapshot, "keyword", "retrieval", k)
    result = online_increment(system, day_order(human, seed), day_order(model, seed), "removal", seed=seed)
    return {**{key: result[key] for key in ("detection_increment", "hit_query_increment", "detections",
                                            "hit_queries")}, "per_report": increment_columns(snapshot, result)}


def cell_cache(cell: Cell, work: Path, full: bool) -> Path:
    """Where a cell's result is cached (a sweep cell apart from the full cell of the same snapshot)."""
    return work / "cells" / f"{cell.key}{'' if full else '-sweep'}.json"


def run_cell(cell: Cell, args: Args, work: Path, full: bool) -> dict:
    """Every mode's metrics per policy and pooled; with ``full`` also junk, AUC and online."""
    from policies import policy_class

    specs = list(args.synth_policies if cell.corpus == SYNTH else args.real_policies)
    if not full:
        specs = specs[:2] if cell.corpus == SYNTH else specs[:1]
    # a cell cached before a policy's fix (its revision raised, e.g. seqlabel's one thread) is measured again
    revisions = {spec: policy_class(spec).revision for spec in specs}
    cache = cell_cache(cell, work, full)
    if cache.is_file():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("version") == CELL_VERSION and cached.get("revisions", dict.fromkeys(specs, 1)) == revisions:
            return cached
    started = time.perf_counter()
    snapshot = make_snapshot(cell, args, work)
    extracted = {spec: extract_queries(snapshot, spec) for spec in specs}
    rows = evaluate_grid(snapshot, extracted, list(MODES), ["retrieval"], args.k)
    result = {
        "version": CELL_VERSION,
        "revisions": revisions,
        "cell": {"corpus": cell.corpus, "seed": cell.seed, "toxic_share": cell.toxic_share, "items": len(snapshot)},
        "counts": {"items": len(snapshot), "toxic": int(snapshot.labels.sum()),
                   "reports": snapshot.reports.num_rows,
                   "test_reports": snapshot.reports_in(["test"]).num_rows, "split_rule": snapshot.split_rule},
        "rows": [{k: v for k, v in r.items() if k not in ("ms_per_query", "extract_ms_per_report")} for r in rows],
        "pooled": pooled(rows, args.k),
    }
    if full:
        from benchmarks.separability import heldout_ngram_auc

        result["junk"] = junk_exposure(snapshot, args.k)
        result["auc"] = heldout_ngram_auc(snapshot, seed=cell.seed)
        human = extracted.get("annotation")
        if cell.corpus == SYNTH:
            result["human_by_kind"] = human_by_kind(snapshot, args.k)
        if human is not None and any(human.queries.values()):
            model = extract_queries(snapshot, args.online_model).queries
            result["online"] = online_increments(snapshot, human.queries, model, cell.seed, args.k)
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_text_atomic(cache, json.dumps(result, indent=2, ensure_ascii=False))
    return result


def planned_cells(args: Args) -> tuple[dict[str, list[Cell]], dict[str, list[Cell]]]:
    """The cells of a run: each corpus's full cells (one per seed), and the synthetic sweeps' cells
    (first seed) over prevalence and size."""
    seeds = args.seeds
    full = {corpus: [Cell(corpus, seed, args.toxic_share if corpus == SYNTH else 0.0, args.items) for seed in seeds]
            for corpus in args.corpora}
    if args.suite and SYNTH in full:
        from benchmarks._worlds import load_spec

        spec = load_spec(args.suite)
        full[SYNTH] = [Cell(SYNTH, seed, spec.raw["toxic_share"], spec.raw["items"], suite=args.suite)
                       for seed in spec.seeds]
    sweeps = {}
    if SYNTH in args.corpora:
        sweeps["prevalence"] = [Cell(SYNTH, seeds[0], p, args.sweep_items) for p in args.prevalences]
        sweeps["size"] = [Cell(SYNTH, seeds[0], args.toxic_share, n) for n in args.sizes]
    return full, sweeps


def _run_cells(cells: list[tuple[Cell, bool]], args: Args, work: str) -> list[str]:
    """A Ray task: :func:`run_cell` of cells that share a snapshot, one after another; their cache files."""
    for cell, full in cells:
        run_cell(cell, args, Path(work), full)
    return [str(cell_cache(cell, Path(work), full)) for cell, full in cells]


def run_cells_on_ray(cells: list[tuple[Cell, bool]], args: Args, work: Path) -> None:
    """The ``(cell, full)`` pairs not cached yet as Ray tasks, each writing its cache atomically (one task
    per snapshot: cells that share one run in it one after another, so no two tasks make the same snapshot)."""
    from qx_env.distributed import map_shards, start_ray

    start_ray(args.ray_address)  # an unreachable cluster fails before any work
    by_snapshot: dict[str, list[tuple[Cell, bool]]] = {}
    for cell, full in dict.fromkeys(cells):
        if not cell_cache(cell, work, full).is_file():
            by_snapshot.setdefault(cell.key, []).append((cell, full))
    if not by_snapshot:
        return
    # workers start elsewhere: every path absolute; the cells themselves run in one process each
    there = replace(args, data_dir=str(Path(args.data_dir).resolve()), ray=False, ray_address="")
    map_shards(_run_cells, list(by_snapshot.values()), there, str(work.resolve()), address=args.ray_address,
               desc="fidelity cells (ray tasks)")


def pooled(rows: list[dict], k: int) -> dict[str, dict]:
    """Per mode, the metrics of every policy's queries together (query-weighted)."""
    out = {}
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        queries = sum(r["queries"] for r in mine)
        exposed = sum(r["exposed"] for r in mine)
        out[mode] = {
            "queries": queries,
            "query_hit_rate": sum(r["effective_queries"] for r in mine) / queries if queries else 0.0,
            "precision": sum(r[f"hit@{k}"] for r in mine) / exposed if exposed else 0.0,
            "chance_hit_rate": sum(r.get("chance_hit_rate", 0.0) * r["queries"] for r in mine) / queries
            if queries else 0.0,
            "base_rate": mine[0].get("base_rate", 0.0),
            "exposed_per_query": exposed / queries if queries else 0.0,
        }
    return out


# ---- claims ---------------------------------------------------------------------------------------
def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and a 95% t-interval over seeds (the mean twice when there is one seed)."""
    from scipy.stats import t

    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return float("nan"), float("nan"), float("nan")
    mean = statistics.mean(values)
    if len(values) < 2:
        return mean, mean, mean
    half = t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def verdict(low: float, high: float, above: float = 0.0, below: float = math.inf) -> str:
    """"holds" when the whole interval lies in (above, below], "does not hold" when none of it
    does, "unclear" otherwise."""
    if math.isnan(low):
        return "not measured"
    if low > above and high <= below:
        return "holds"
    if high <= above or low > below:
        return "does not hold"
    return "unclear"


def claim(name: str, corpus: str, values: list[float], text: str, above: float = 0.0,
          below: float = math.inf, context: str = "") -> dict:
    mean, low, high = interval(values)
    return {"claim": name, "corpus": corpus, "statement": text, "values": values, "mean": mean, "low": low,
            "high": high, "verdict": verdict(low, high, above, below), "context": context}


def pooled_reports(cells: list[dict], mode: str, policies: tuple[str, ...] = (),
                   by_policy: bool = True) -> tuple[dict[str, list], list[str]]:
    """Per-report columns of the cells' rows in ``mode`` (of ``policies`` only, by name, when given), seeds one
    after another, and each report's world. With ``by_policy`` a report's row of each policy is its own
    (id ``seed/policy/report``; its campaign is still the report's, so a campaign's rows of every policy are
    resampled together); without, ids are ``seed/report``, to pair one policy's rows with another's."""
    return stack_worlds((f"s{cell['cell']['seed']}", row["per_report"],
                         f"s{cell['cell']['seed']}/{row['policy']}/" if by_policy else f"s{cell['cell']['seed']}/")
                        for cell in cells for row in cell["rows"]
                        if row["mode"] == mode and (not policies or row["policy"].split(":")[0] in policies))


def paired_claim(name: str, corpus: str, statement: str, a: tuple[dict, list[str]], b: tuple[dict, list[str]],
                 claimed: float, rate: str = "query_hit_rate", paper: str = "") -> dict:
    """A claim that A - B is ``claimed`` in ``rate``, compared paired over campaigns (verdict after Holm)."""
    from qx_env.runs import compare_per_report

    if not a[0].get("report_id") or not b[0].get("report_id"):
        return {"claim": name, "corpus": corpus, "statement": statement, "kind": "paired", "claimed": claimed,
                "verdict": "not measured", "paper": paper}
    comparison = compare_per_report(a[0], b[0], (rate,), worlds=a[1])[0]
    return {"claim": name, "corpus": corpus, "statement": statement, "kind": "paired", "claimed": claimed,
            "paper": paper, "seeds": len(set(a[1])), **comparison.as_dict()}


def decide(claims: list[dict]) -> list[dict]:
    """Holm's adjustment across the paired claims, then each one's verdict (:func:`qx_env.stats.verdict_of`)."""
    from qx_env.stats import holm, verdict_of

    measured = [c for c in claims if c.get("kind") == "paired" and "p_value" in c]
    for claim_row, adjusted in zip(measured, holm([c["p_value"] for c in measured])):
        claim_row["p_adjusted"] = adjusted
        claim_row["verdict"] = verdict_of(claim_row["difference"], adjusted, claim_row["mdd"], claim_row["claimed"])
    return claims


def mode_claims(corpus: str, cells: list[dict]) -> list[dict]:
    """(a): keyword exact minus each other mode, every policy's queries pooled, paired on the same reports;
    in query hit rate, and in precision for the paper's modes (its "more effective" read as precision)."""
    exact = pooled_reports(cells, "keyword")
    claims = []
    for mode in [m for m in MODES if m != "keyword"]:
        other = pooled_reports(cells, mode)
        extension = mode not in PAPER_MODES
        label = "a" + ("+" if extension else "")
        claims.append(paired_claim(label, corpus, f"keyword exact > {mode} in query hit rate"
                                   + (" (an extension: not a paper mode)" if extension else ""), exact, other,
                                   SMALLEST_INTERESTING, paper="qualitative; 0.05 the smallest of interest"))
        if not extension:
            claims.append(paired_claim("a'", corpus, f"keyword exact > {mode} in precision", exact, other,
                                       SMALLEST_INTERESTING, rate="precision",
                                       paper="qualitative; 0.05 the smallest of interest"))
    return claims


def policy_claims(cells: list[dict]) -> list[dict]:
    """(b) on the synthetic corpus, keyword exact, paired on the same reports."""
    def reports(policy: str) -> tuple[dict, list[str]]:
        return pooled_reports(cells, "keyword", (policy,), by_policy=False)

    human, tfidf, bilstm = reports("annotation"), reports("tfidf"), reports("seqlabel")
    return [
        paired_claim("b", SYNTH, "Human > TF-IDF in query hit rate (keyword exact)", human, tfidf,
                     PAPER_EFFECTS["human-tfidf"], paper="+0.066 (0.489 vs 0.423, Table 5)"),
        paired_claim("b", SYNTH, "TF-IDF > Bi-LSTM-CRF in query hit rate (keyword exact)", tfidf, bilstm,
                     PAPER_EFFECTS["tfidf-bilstm"], paper="+0.023 (0.423 vs 0.400, Table 5)"),
    ]


def training_claims(results: dict | None) -> list[dict]:
    """(c) from a training headline's runs: its paired comparisons over the seeds together when it made them
    (against the paper's +0.053, SFT 0.508 -> QExplorer 0.561 in Table 5), else over seeds."""
    if not results:
        return [claim("c", SYNTH, [], "SFT+DPO at tau 0.05 beats SFT (not run: --train or --training-results)")]
    runs = results["runs"]
    high, low = (results["config"]["tau"], results["config"]["tau_low"])
    if results.get("comparisons"):
        pooled = {(c["compared"], c["against"]): c for c in results["comparisons"] if c["seeds"] == "all"}
        made = []
        for (a, b), statement, claimed, paper in (
                ((f"dpo_tau{high}", "sft"), f"SFT+DPO at tau {high} > SFT", PAPER_EFFECTS["dpo-sft"],
                 "+0.053 (0.508 vs 0.561, Table 5)"),
                ((f"dpo_tau{high}", f"dpo_tau{low}"), f"tau {high} > tau {low} after SFT+DPO", SMALLEST_INTERESTING,
                 "qualitative (Table 6); 0.05 the smallest of interest")):
            c = pooled[a, b]
            made.append({"claim": "c", "corpus": SYNTH, "statement": f"{statement} in query hit rate (the {len(runs)} "
                         f"training seeds' models summed per report)", "kind": "paired", "claimed": claimed,
                         "paper": paper, "seeds": len(runs), **{k: v for k, v in c.items()
                                                                 if k not in ("seeds", "compared", "against")}})
        return made
    gain = [r[f"dpo_tau{high}"]["query_hit_rate"] - r["sft"]["query_hit_rate"] for r in runs]
    gain_low = [r[f"dpo_tau{low}"]["query_hit_rate"] - r["sft"]["query_hit_rate"] for r in runs]
    context = "; ".join(f"seed {r['seed']}: SFT {r['sft']['query_hit_rate']:.3f}, tau {high} "
                        f"{r[f'dpo_tau{high}']['query_hit_rate']:.3f}, tau {low} {r[f'dpo_tau{low}']['query_hit_rate']:.3f}"
                        for r in runs)
    return [
        claim("c", SYNTH, gain, f"SFT+DPO at tau {high} beats SFT (hit rate gain)", context=context),
        claim("c", SYNTH, [a - b for a, b in zip(gain, gain_low)],
              f"tau {high} gains at least as much as tau {low} (difference of gains)", above=-1e-12),
    ]


def online_claims(cells: list[dict], model: str) -> list[dict]:
    """(d): the relative increments of adding the model's queries after the human ones over a simulated day,
    per report paired over campaigns (worlds as strata), against the paper's Table 7 increments."""
    from benchmarks.online import increment_comparisons

    rows = [c for c in cells if "per_report" in c.get("online", {})]
    if not rows:
        return [claim("d", SYNTH, [], f"{model} after the human queries adds detections (not measured)")]
    columns, worlds = stack_worlds((f"s{c['cell']['seed']}", c["online"]["per_report"], f"s{c['cell']['seed']}/")
                                   for c in rows)
    return [{"claim": "d", "corpus": SYNTH, "kind": "paired", "claimed": PAPER_INCREMENTS[count],
             "statement": f"{model} after the human queries: {count.replace('_', ' ')} increment over a simulated day "
                          "(relative; keyword exact)",
             "paper": f"+{PAPER_INCREMENTS[count]:.3f} (Table 7, 20 weeks online)", "seeds": len(rows),
             **comparison.as_dict()}
            for count, comparison in increment_comparisons(columns, worlds).items()]


def junk_claims(corpus: str, cells: list[dict]) -> list[dict]:
    exposed = [float(sum(v for m, v in c["junk"].items() if not m.endswith("_toxic"))) for c in cells]
    return [claim("e", corpus, exposed, f"{len(JUNK_QUERIES)} junk queries expose nothing in any mode "
                  "(items exposed, all modes)", above=-0.5, below=0.5)]


def auc_claims(by_corpus: dict[str, list[dict]]) -> list[dict]:
    real = [c["auc"] for corpus, cells in by_corpus.items() if corpus != SYNTH for c in cells]
    synth = [c["auc"] for c in by_corpus.get(SYNTH, [])]
    if not real or not synth:
        return [claim("f", SYNTH, [], "n-gram classifier AUC in the band of real corpora (needs both kinds)")]
    low, high = min(real), max(real)
    return [claim("f", SYNTH, synth, f"held-out n-gram classifier AUC within the real corpora's band "
                  f"[{low:.3f}, {high:.3f}]", above=low - 1e-9, below=high,
                  context=", ".join(f"{corpus} {statistics.mean(c['auc'] for c in cells):.3f}"
                                    for corpus, cells in by_corpus.items()))]


# ---- report -------------------------------------------------------------------------------------
def claims_table(claims: list[dict]) -> str:
    """Paired claims with their difference, interval, Holm p, detectable difference and the paper's effect;
    claims read over seeds with their mean and t-interval."""
    rows = []
    for c in claims:
        if c.get("kind") == "paired":
            measured = "difference" in c
            rows.append([c["claim"], c["corpus"], c["statement"], f"{c['difference']:+.3f}" if measured else "-",
                         f"[{c['low']:+.3f}, {c['high']:+.3f}]" if measured else "-",
                         f"{c['p_adjusted']:.4f}" if measured else "-", f"{c['mdd']:.3f}" if measured else "-",
                         c["paper"], f"{c['reports']} reports, {c['campaigns']} campaigns, {c['seeds']} seeds"
                         if measured else "-", c["verdict"]])
        else:
            rows.append([c["claim"], c["corpus"], c["statement"],
                         f"{c['mean']:+.3f}" if not math.isnan(c["mean"]) else "-",
                         f"[{c['low']:+.3f}, {c['high']:+.3f}]" if not math.isnan(c["low"]) else "-", "-", "-", "-",
                         f"{len(c['values'])} seeds", c["verdict"]])
    return markdown_table(["claim", "corpus", "statement", "measured", "95% interval", "p (Holm)", "detectable",
                           "paper", "evidence", "verdict"], rows)


def modes_table(by_corpus: dict[str, list[dict]]) -> str:
    rows = []
    for corpus, cells in by_corpus.items():
        for mode in MODES:
            values = [c["pooled"][mode] for c in cells]
            rows.append([corpus, mode, statistics.mean(v["query_hit_rate"] for v in values),
                         statistics.mean(v["chance_hit_rate"] for v in values),
                         statistics.mean(v["precision"] for v in values),
                         statistics.mean(v["base_rate"] for v in values),
                         statistics.mean(v["exposed_per_query"] for v in values)])
    return markdown_table(["corpus", "mode", "query hit rate", "chance hit rate", "precision", "base rate",
                           "exposed per query"], rows)


def kinds_table(cells: list[dict]) -> str:
    """The Human row by annotation kind, seeds pooled: what each kind of the auditors' mix scores."""
    totals: dict[str, list[float]] = {}
    for cell in cells:
        for kind, row in cell.get("human_by_kind", {}).items():
            total = totals.setdefault(kind, [0, 0.0])
            total[0] += row["queries"]
            total[1] += row["query_hit_rate"] * row["queries"]
    queries = sum(t[0] for t in totals.values())
    return markdown_table(["annotation kind (synthetic auditors)", "share of Human's queries", "queries",
                           "query hit rate (keyword exact)"],
                          [[kind, f"{t[0] / queries:.3f}", t[0], t[1] / t[0] if t[0] else 0.0]
                           for kind, t in totals.items()])


def plot(sweeps: dict[str, list[dict]], path: Path, args: Args) -> Path:
    """Query hit rate (with its chance line) and precision per mode against prevalence and size."""
    plt = pyplot()
    figure, axes = plt.subplots(2, 2, figsize=(12, 8))
    drawn: list[int] = []
    for column, (name, cells, xlabel) in enumerate((
            ("prevalence", sweeps.get("prevalence", []), "toxic share of items (log scale)"),
            ("size", sweeps.get("size", []), "items in the corpus (log scale)"))):
        if not cells:
            continue
        drawn.append(column)
        xs = [c["counts"]["toxic"] / c["counts"]["items"] if name == "prevalence" else c["counts"]["items"]
              for c in cells]
        order = sorted(range(len(xs)), key=xs.__getitem__)
        xs = [xs[i] for i in order]
        for mode in MODES:
            values = [cells[i]["pooled"][mode] for i in order]
            line, = axes[0][column].plot(xs, [v["query_hit_rate"] for v in values], marker="o", label=mode)
            axes[0][column].plot(xs, [v["chance_hit_rate"] for v in values], linestyle=":", color=line.get_color())
            axes[1][column].plot(xs, [v["precision"] for v in values], marker="o", label=mode)
        axes[1][column].plot(xs, [cells[i]["pooled"]["keyword"]["base_rate"] for i in order], color="black",
                             linestyle=":", label="base rate (random items)")
        for row, ylabel in enumerate(("query hit rate (dotted: chance)", "precision (toxic share of exposed)")):
            axis = axes[row][column]
            axis.set_xscale("log")
            axis.set_xlabel(xlabel)
            axis.set_ylabel(ylabel)
            axis.grid(alpha=0.3)
        axes[1][column].set_yscale("log")
        fixed = (f"{cells[0]['counts']['items']:,} items" if name == "prevalence"
                 else "default prevalence")
        axes[0][column].set_title(f"synthetic zh, seed {cells[0]['cell']['seed']}, {fixed}; test split, k={args.k}",
                                  fontsize=9)
    for axis in axes[:, drawn[0]] if drawn else ():  # the legend on the first sweep drawn
        axis.legend(fontsize=8)
    figure.suptitle("Retrieval modes against chance: query hit rate and precision (pooled policies)")
    figure.tight_layout()
    return save_figure_atomic(figure, path)


def main(args: Args) -> dict:
    seeds, corpora = args.seeds, args.corpora
    if not seeds or not corpora:
        raise QxError("give at least one seed (--seeds) and one corpus (--corpora)")
    out = Path(args.out)
    work = Path(args.work) if args.work else out / "work"
    started = time.perf_counter()
    full_cells, sweep_cells = planned_cells(args)
    if args.ray or args.ray_address:
        run_cells_on_ray([(c, True) for cells in full_cells.values() for c in cells]
                         + [(c, False) for cells in sweep_cells.values() for c in cells], args, work)
    by_corpus = {corpus: [run_cell(c, args, work, full=True) for c in cells] for corpus, cells in full_cells.items()}
    sweeps = {name: [run_cell(c, args, work, full=False) for c in cells] for name, cells in sweep_cells.items()}
    training = None
    if args.training_results:
        training = json.loads(Path(args.training_results).read_text(encoding="utf-8"))
    elif args.train:
        from benchmarks import training_headline

        training = training_headline.main(training_headline.Args(
            items=args.items, snapshot_seed=seeds[0], seeds=args.seeds, out=str(work / "training")))
    claims = [c for corpus, cells in by_corpus.items() for c in mode_claims(corpus, cells)]
    if SYNTH in by_corpus:
        claims += policy_claims(by_corpus[SYNTH])
        claims += training_claims(training)
        claims += online_claims(by_corpus[SYNTH], args.online_model)
    claims += [c for corpus, cells in by_corpus.items() for c in junk_claims(corpus, cells)]
    claims += auc_claims(by_corpus)
    claims = decide(claims)
    counts = markdown_table(["corpus", "seed", "items", "toxic", "toxic share", "reports", "test reports"],
                            [[corpus, c["cell"]["seed"], c["counts"]["items"], c["counts"]["toxic"],
                              f"{c['counts']['toxic'] / c['counts']['items']:.4f}", c["counts"]["reports"],
                              c["counts"]["test_reports"]] for corpus, cells in by_corpus.items() for c in cells])
    parts = [claims_table(claims), modes_table(by_corpus), counts]
    if SYNTH in by_corpus and by_corpus[SYNTH][0].get("human_by_kind"):
        parts.append(kinds_table(by_corpus[SYNTH]))
    text = "\n\n".join(parts)
    summary = {"claims": claims, "cells": by_corpus, "sweeps": sweeps,
               "minutes": round((time.perf_counter() - started) / 60, 1), **describe_run(args)}
    write_text_atomic(out / "results.json", json.dumps(summary, indent=2, ensure_ascii=False))
    write_text_atomic(out / "table.md", text + "\n")
    if sweeps:
        plot(sweeps, out / "fidelity.png", args)
    print(text)
    print(f"\nwrote {out / 'results.json'}, {out / 'table.md'}" + (f" and {out / 'fidelity.png'}" if sweeps else ""))
    return summary


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
