"""Weeks online against sellers who adapt (issue 31): human queries alone vs human + each model's, week by
week over a platform whose listings arrive every day and whose campaigns reword what gets them taken down.

Each seed draws a timeline (arrivals, campaign lifetimes, report days) over the same world (the snapshot's
items and the dormant versions sellers can reword into, indexed once). For each seed the human-only run and
one human + model run per model go through :func:`qx_env.online.simulate_weeks`; the increments of
detections and hit queries, per week and over the period, are paired over campaigns (seeds as strata,
:func:`qx_env.stats.relative_increment`). Writes results.json, table.md and weeks.png (weekly detections per
source, live toxic listings, drift).

With ``--retrain seqlabel --retrain-every N`` the model also meets time: two more arms run beside the auditors,
the policy trained on the reports filed in the first N weeks and kept, and the same policy trained again every
N weeks on every report filed so far (:class:`qx_env.online.Retrain`); a table compares them week by week.

    python -m benchmarks.weeks --snapshot snapshots/demo-zh --models tfidf,textrank --days 140
    python -m benchmarks.weeks --snapshot snapshots/demo-zh --models tfidf --retrain seqlabel --retrain-every 4
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import describe_run, markdown_table, parse_args, pyplot, save_figure_atomic
from benchmarks.online import INCREMENT_COUNTS, increment_comparisons
from qx_env.files import write_text_atomic
from qx_env.flags import SpecList
from qx_env.online import OnlineConfig


@dataclass
class Args:
    snapshot: str = "snapshots/demo-zh"
    """Snapshot directory (the world's base items and reports)."""
    models: SpecList = ("tfidf",)
    """Policy specs whose queries follow the auditors' on each report, one run each, comma-separated."""
    split: tuple[str, ...] = ("test",)
    """Report split(s) filed during the run, comma-separated."""
    mode: str = "keyword"
    """Retrieval mode: keyword, embedding, graph or hybrid (keyword:match=bm25 for bm25 matching)."""
    ranker: str = "retrieval"
    """Ranker spec of the search system."""
    k: int = 100
    """Items exposed per query."""
    days: int = OnlineConfig.days
    """Days of the run (140: the paper's 20 weeks)."""
    backlog_share: float = OnlineConfig.backlog_share
    """Share of independent listings live on day 0 (the defaults and their sources: qx_env.online.OnlineConfig)."""
    campaign_lifetime_days: float = OnlineConfig.campaign_lifetime_days
    """Mean campaign lifetime in days."""
    report_rate: float = OnlineConfig.report_rate
    """Daily chance a live reportable listing is reported."""
    adapt: bool = OnlineConfig.adapt
    """Sellers reword phrases that got their listings taken down."""
    adapt_rate: float = OnlineConfig.adapt_rate
    """Chance a campaign rewords a phrase a takedown named."""
    max_variants: int = OnlineConfig.max_variants
    """Variants per phrase made up front (dormant in the index)."""
    account_move_rate: float = OnlineConfig.account_move_rate
    """Chance a rewording comes with a new account (seller id and contact handles): what the graph mode links."""
    dynamics: str = "removal"
    """removal, or delayed (with --delay)."""
    delay: int = 0
    """Delayed dynamics: steps between detection and removal."""
    seeds: tuple[int, ...] = (0,)
    """Timeline seeds, comma-separated: each a world of the paired statistics (a stratum)."""
    retrain: str = ""
    """A policy trained on the reports filed so far. seqlabel[:epochs=..,hidden=..] (learns the auditors' marks):
    one arm trains it on the first --retrain-every weeks' reports and keeps it, one trains it again every
    --retrain-every weeks. dpo:base=DIR[,candidates=4,tau=0.05,epochs=1,baselines=annotation,...] (the fields of
    training.LoopArgs): one arm keeps the model DIR, one retrains it every --retrain-every weeks by mining its
    candidates on the filed reports against the platform as it stands and DPO. Empty: no such arms."""
    retrain_every: int = 4
    """Weeks between trainings of --retrain (4: a modelling choice, five trainings over the paper's 20 weeks; the
    paper does not publish a retraining schedule)."""
    world: str = ""
    """Directory of the world snapshot (base items + dormant versions); default SNAPSHOT/online, which the
    environment's adaptive dynamics use too."""
    out: str = "reports/bench/weeks"
    """Output directory: results.json, table.md, weeks.png."""


HUMAN = "human"
#: Policies :func:`report_learner` trains on filed reports (their text as posted, the auditors' marks), and
#: ``dpo``: a model retrained by mining and DPO (:class:`training.DPORetrainer`).
LEARNERS = ("seqlabel", "dpo")
#: LoopArgs fields a ``--retrain dpo:...`` spec does not take: the run gives them.
DPO_FIXED = ("snapshot", "out", "rounds", "eval_split", "progress")


def report_learner(spec: str, language: str) -> Callable[[Sequence], object]:
    """The ``fit`` of a :class:`qx_env.online.Retrain` source: the policy of ``spec`` (``seqlabel``) trained on
    the reports filed so far, or None (keep the current one) while no filed report holds a phrase the auditors
    marked on it."""
    from policies import OPTION_BOUNDS, SeqLabelPolicy
    from qx_env.errors import QxError
    from qx_env.specs import spec_options, split_spec

    name, arguments = split_spec(spec)
    if name != "seqlabel":
        raise QxError(f"--retrain takes one of {', '.join(LEARNERS)}, got {name!r}")
    options = spec_options("policy", name, arguments, SeqLabelPolicy.__init__, OPTION_BOUNDS)
    if "path" in options:
        raise QxError("--retrain trains its policy on the reports filed so far: a saved model (path=) is not one")

    def fit(reports: Sequence) -> object:
        if not any(p and p.lower() in r.text.lower() for r in reports for p in r.annotations):
            return None
        return SeqLabelPolicy.trained_on([r.text for r in reports], [list(r.annotations) for r in reports], language,
                                         **options)

    return fit


def dpo_loop_args(spec: str, out: str | Path):
    """The :class:`training.LoopArgs` of ``--retrain dpo:base=DIR[,candidates=..,tau=..,epochs=..,...]``, writing
    under ``out``."""
    from qx_env.errors import QxError
    from qx_env.specs import spec_options, split_spec
    from training import LoopArgs

    options = spec_options("retrain", "dpo", split_spec(spec)[1], LoopArgs)
    fixed = sorted(set(options) & set(DPO_FIXED))
    if fixed:
        raise QxError(f"--retrain dpo: {', '.join(fixed)} are the run's, not options")
    if not options.get("base"):
        raise QxError("--retrain dpo needs base=DIR: the model deployed first and retrained from (an SFT model, or "
                      "one made by `qx model tiny`)")
    if isinstance(options.get("baselines"), str):
        options["baselines"] = tuple(b for b in options["baselines"].split("+") if b)
    return LoopArgs(snapshot="", out=str(out), **options)


def retrain_arms(args: Args, language: str, seed: int = 0) -> dict:
    """The two arms of ``--retrain``, fresh for timeline ``seed`` (a DPO model is retrained per run). seqlabel:
    trained on the first ``retrain_every`` weeks and kept; trained again every ``retrain_every`` weeks (both ask
    nothing before their first training). dpo: the base model kept; the base model retrained by mining and DPO
    every ``retrain_every`` weeks (both ask the base model's queries until then). Empty without ``--retrain``."""
    from qx_env.online import Retrain

    if not args.retrain:
        return {}
    every = args.retrain_every
    name = args.retrain.partition(":")[0]
    if name == "dpo":
        from policies import make_policy
        from training import DPORetrainer, model_policy_spec

        loop = dpo_loop_args(args.retrain, Path(args.out) / "retrain" / f"seed{seed}")
        retrainer = DPORetrainer(loop, language)
        base = make_policy(model_policy_spec(loop.base, grounded=loop.grounded, language=language)).extract
        return {"dpo base kept": base,
                f"dpo retrained every {every} weeks": Retrain(retrainer, every, initial=base)}
    fit = report_learner(args.retrain, language)
    return {f"{name} fixed after week {every}": Retrain(fit, every, until=every),
            f"{name} retrained every {every} weeks": Retrain(fit, every)}


def online_config(args: Args) -> OnlineConfig:
    return OnlineConfig(days=args.days, backlog_share=args.backlog_share,
                        campaign_lifetime_days=args.campaign_lifetime_days, report_rate=args.report_rate,
                        adapt=args.adapt, adapt_rate=args.adapt_rate, max_variants=args.max_variants,
                        account_move_rate=args.account_move_rate)


def paired_columns(alone: Mapping[int, object], together: Mapping[int, object], week: int | None = None
                   ) -> dict[str, list]:
    """Per report (of either arm, per seed), its campaign, seed, and each count alone and with the model
    (0 where the report was not filed in that arm: a listing taken down earlier is never reported)."""
    columns: dict[str, list] = {"campaign": [], "world": [], **{f"{arm}_{c}": [] for arm in ("base", "combined")
                                                                for c in INCREMENT_COUNTS}}
    for seed in alone:
        rows = {}
        for arm, result in (("base", alone[seed]), ("combined", together[seed])):
            for r in result.per_report:
                if week is None or r["week"] == week:
                    rows.setdefault(r["report_id"], {"campaign": r["campaign"]})[arm] = r
        for report in sorted(rows):
            columns["campaign"].append(rows[report]["campaign"])
            columns["world"].append(str(seed))
            for arm in ("base", "combined"):
                for count in INCREMENT_COUNTS:
                    columns[f"{arm}_{count}"].append(rows[report].get(arm, {}).get(count, 0))
    return columns


def increments(columns: Mapping[str, list]) -> dict:
    """Each count's totals and relative increment with its campaign bootstrap interval (seeds as strata),
    sign-flip p-value and minimal detectable difference (:func:`benchmarks.online.increment_comparisons`)."""
    out = {}
    for count, c in increment_comparisons(columns, columns["world"]).items():
        base, combined = sum(columns[f"base_{count}"]), sum(columns[f"combined_{count}"])
        out[count] = {"human": base, "combined": combined,
                      "increment": combined / base - 1 if base else None,
                      "low": c.low if base else None, "high": c.high if base else None,
                      "p_value": c.p_value, "mdd": c.mdd if base else None,
                      "campaigns": c.campaigns, "reports": c.reports}
    return out


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _total(values: list) -> float:
    """A weekly figure (already a mean over seeds) summed over the weeks: per run."""
    return sum(v for v in values if v is not None)


def weekly(results: Mapping[int, object], key: str, source: str | None = None) -> list[float | None]:
    """A week-row figure averaged over seeds (``source``: that source's own count)."""
    weeks = len(next(iter(results.values())).weeks)
    pick = (lambda w: w["by_source"][source][key]) if source else (lambda w: w[key])
    return [_mean([pick(r.weeks[i]) for r in results.values()]) for i in range(weeks)]


def run(args: Args) -> dict:
    """Every seed's human-only run and human + model runs; the rows of the period and of each week."""
    from tqdm.auto import tqdm

    from benchmarks.modes import search_system
    from policies import make_policy
    from qx_env.online import ANNOTATION, build_world, make_timeline, simulate_weeks
    from qx_env.search import Dynamics
    from qx_env.snapshot import Snapshot

    started = time.perf_counter()
    base = Snapshot.load(args.snapshot)
    # the first run's retrained arms, made now: a bad --retrain is refused before the world is built
    retraining = retrain_arms(args, base.language, args.seeds[0])
    config = online_config(args)
    world = build_world(base, config, args.world or Path(args.snapshot) / "online")
    system = search_system(world.snapshot, args.mode, args.ranker, args.k)
    ready = time.perf_counter() - started
    dynamics = Dynamics(kind=args.dynamics, delay=args.delay)
    fixed = {spec: make_policy(spec, base).extract for spec in args.models}
    arms = fixed | retraining
    alone, together = {}, {arm: {} for arm in arms}
    for run, seed in enumerate(tqdm(args.seeds, desc="seeds")):
        if run:  # a retrained model starts again each run
            arms = fixed | retrain_arms(args, base.language, seed)
        timeline = make_timeline(base, config, seed)
        alone[seed] = simulate_weeks(world, timeline, system, {HUMAN: ANNOTATION}, dynamics, args.split, seed=seed,
                                     progress=True)
        for spec, source in arms.items():
            sources = {HUMAN: ANNOTATION, spec: source}
            together[spec][seed] = simulate_weeks(world, timeline, system, sources, dynamics, args.split, seed=seed,
                                                  progress=True)
    weeks = len(alone[args.seeds[0]].weeks)
    models = {}
    for spec in arms:
        models[spec] = {
            "period": increments(paired_columns(alone, together[spec])),
            "weeks": [{"week": w, **increments(paired_columns(alone, together[spec], w))} for w in range(1, weeks + 1)],
            "live_toxic": weekly(together[spec], "live_toxic"), "drift": weekly(together[spec], "drift"),
            "detections": weekly(together[spec], "detections"),
            "model_detections": weekly(together[spec], "detections", spec),
            "model_hit_queries": weekly(together[spec], "hit_queries", spec),
            "model_queries": weekly(together[spec], "queries", spec),
            "model_shared": weekly(together[spec], "shared", spec),
            "fits": [{"seed": seed, **fit} for seed, r in together[spec].items() for fit in r.fits],
            "rewordings": sum(len(r.rewordings) for r in together[spec].values()),
        }
    human = {"live_toxic": weekly(alone, "live_toxic"), "drift": weekly(alone, "drift"),
             "detections": weekly(alone, "detections"), "queries": weekly(alone, "queries", HUMAN),
             "rewordings": sum(len(r.rewordings) for r in alone.values())}
    return {"human": human, "models": models, "weeks": weeks, "retrain": list(retraining),
            "world_items": len(world.snapshot),
            "base_items": len(base), "dormant_versions": len(world.snapshot) - len(base),
            "campaigns": len(make_timeline(base, config, args.seeds[0]).campaigns),
            "seconds": {"world_and_indexes": round(ready, 1), "total": round(time.perf_counter() - started, 1)},
            "lineage": alone[args.seeds[0]].lineage, "config": config.as_dict()}


def _percent(row: dict, tested: bool = False) -> str:
    """An increment with its 95% interval; ``tested``: also its p-value and minimal detectable difference."""
    if row["increment"] is None:
        return "n/a (human found none)"
    text = f"{100 * row['increment']:+.1f}% [{100 * row['low']:+.1f}%, {100 * row['high']:+.1f}%]"
    return f"{text}, p {row['p_value']:.4f}, detectable {100 * row['mdd']:.1f}%" if tested else text


def _number(value) -> str:
    return "-" if value is None else f"{value:.2f}" if isinstance(value, float) and not float(value).is_integer() \
        else f"{value:g}" if isinstance(value, float) else str(value)


def markdown(result: dict) -> str:
    """The period table (one row per model) and each model's weekly table."""
    human = result["human"]
    period = markdown_table(
        ["model", "detections: human / + model", "detection increment [95% CI], p, detectable",
         "hit queries: human / + model", "hit query increment [95% CI], p, detectable",
         "live toxic at the end: human / + model", "mean drift: human / + model", "rewordings: human / + model",
         "queries a run: human / model (asked first by the auditors)", "campaigns, reports"],
        [[spec, f"{m['period']['detections']['human']} / {m['period']['detections']['combined']}",
          _percent(m["period"]["detections"], tested=True),
          f"{m['period']['hit_queries']['human']} / {m['period']['hit_queries']['combined']}",
          _percent(m["period"]["hit_queries"], tested=True),
          f"{_number(human['live_toxic'][-1])} / {_number(m['live_toxic'][-1])}",
          f"{_number(_mean(human['drift']))} / {_number(_mean(m['drift']))}",
          f"{human['rewordings']} / {m['rewordings']}",
          (f"{_number(_total(human['queries']))} / {_number(_total(m['model_queries']))} "
           f"({_number(_total(m['model_shared']))})"),
          f"{m['period']['detections']['campaigns']}, {m['period']['detections']['reports']}"]
         for spec, m in result["models"].items()])
    parts = ["## Over the period", "", period]
    for spec, m in result["models"].items():
        rows = [[w["week"], f"{w['detections']['human']} / {w['detections']['combined']}", _percent(w["detections"]),
                 f"{w['hit_queries']['human']} / {w['hit_queries']['combined']}", _percent(w["hit_queries"]),
                 f"{_number(human['live_toxic'][i])} / {_number(m['live_toxic'][i])}",
                 f"{_number(human['drift'][i])} / {_number(m['drift'][i])}"] for i, w in enumerate(m["weeks"])]
        parts += ["", f"## Week by week: human vs human + {spec}", "", markdown_table(
            ["week", "detections", "detection increment [95% CI]", "hit queries", "hit query increment [95% CI]",
             "live toxic at week end", "drift"], rows)]
    if result["retrain"]:
        kept, again = result["retrain"]
        title = ("## The model in time: its own queries' detections and hit queries per week (mean over seeds), "
                 f"{kept} vs {again}")
        parts += ["", title, "", retrain_table(result)]
    return "\n".join(parts)


def retrain_table(result: dict) -> str:
    """Week by week, the kept model against the retrained one: each model's own detections, hit queries and
    queries (with those the auditors had asked first on the same report, counted as theirs), mean over seeds,
    and the weeks each was trained at the end of."""
    fixed, again = (result["models"][arm] for arm in result["retrain"])

    def trained(m: dict, week: int) -> str:
        fits = [f for f in m["fits"] if f["week"] == week and f["new"]]
        return f"trained on {_number(sum(f['reports'] for f in fits) / len(fits))} reports" if fits else ""

    rows = [[week, _number(fixed["model_detections"][i]), _number(again["model_detections"][i]),
             _number(fixed["model_hit_queries"][i]), _number(again["model_hit_queries"][i]),
             f"{_number(fixed['model_queries'][i])} ({_number(fixed['model_shared'][i])})",
             f"{_number(again['model_queries'][i])} ({_number(again['model_shared'][i])})",
             trained(fixed, week), trained(again, week)] for i, week in enumerate(range(1, result["weeks"] + 1))]
    return markdown_table(["week", f"detections: {result['retrain'][0]}", f"detections: {result['retrain'][1]}",
                           "hit queries: kept", "hit queries: retrained", "own queries (asked first by the auditors): kept",
                           "own queries (asked first by the auditors): retrained", "kept model", "retrained model"], rows)


def plot(result: dict, args: Args, path: Path) -> Path:
    """Three panels over the weeks: detections per source, live toxic listings, drift (gaps: no effective query
    the week before)."""
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    weeks = list(range(1, result["weeks"] + 1))
    human = result["human"]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    lines = [("human alone", human, "black", "--", None)] + [
        (f"human + {spec}", m, colors[i % len(colors)], "-", spec)
        for i, (spec, m) in enumerate(result["models"].items())]
    for label, figures, color, style, spec in lines:
        axes[0].plot(weeks, figures["detections"], style, color=color, linewidth=2 if spec is None else 1.5,
                     label=label)
        if spec is not None:
            axes[0].plot(weeks, figures["model_detections"], ":", color=color, label=f"{spec}'s own queries")
        axes[1].plot(weeks, figures["live_toxic"], style, color=color, label=label)
        axes[2].plot(weeks, [math.nan if v is None else v for v in figures["drift"]], style, color=color, marker=".",
                     label=label)
    titles = ("toxic items detected per week", "live toxic listings at week end",
              "drift: last week's effective queries\nthat still expose a toxic item")
    ylabels = ("toxic items detected (mean over seeds)", "live toxic listings", "share of queries")
    for axis, title, ylabel in zip(axes, titles, ylabels):
        axis.set_title(title, fontsize=11)
        axis.set_xlabel("week", fontsize=11)
        axis.set_ylabel(ylabel, fontsize=11)
        axis.legend(fontsize=9)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[2].set_ylim(-0.02, 1.02)
    figure.suptitle(f"weeks online: {args.snapshot}, {','.join(args.split)} reports, {args.days} days, "
                    f"{args.mode}, k={args.k}, sellers {'adapt' if args.adapt else 'do not adapt'}, "
                    f"seeds {','.join(map(str, args.seeds))}", fontsize=11)
    figure.tight_layout()
    return save_figure_atomic(figure, path)


def main(args: Args) -> dict:
    from qx_env.errors import QxError

    if not args.models and not args.retrain:
        raise QxError("give at least one model policy with --models (e.g. tfidf) or one to retrain with --retrain")
    if args.retrain and (isinstance(args.retrain_every, bool) or args.retrain_every < 1):
        raise QxError(f"--retrain-every must be a whole number of weeks of at least 1, got {args.retrain_every!r}")
    if not args.seeds:
        raise QxError("give at least one timeline seed with --seeds")
    result = run(args)
    out = Path(args.out)
    table = markdown(result)
    write_text_atomic(out / "results.json", json.dumps({**result, **describe_run(args)}, indent=2,
                                                      ensure_ascii=False))
    write_text_atomic(out / "table.md", table + "\n")
    plot(result, args, out / "weeks.png")
    print(table)
    print(f"\n{result['base_items']:,} items + {result['dormant_versions']:,} dormant versions, {result['campaigns']} "
          f"campaigns; world and indexes ready in {result['seconds']['world_and_indexes']} s, all in "
          f"{result['seconds']['total']} s")
    print(f"wrote {out / 'results.json'}, {out / 'table.md'} and {out / 'weeks.png'}")
    return result


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
