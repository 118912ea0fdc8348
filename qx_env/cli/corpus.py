"""``qx corpus synth|compose|info``: make and inspect snapshot corpora."""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

from qx_env.corpus import PRESETS, Source, SynthConfig, compose, get_preset, synthesize
from qx_env.corpus.compose import (
    AUTO_SYNTH_MAX,
    BACKGROUNDS,
    BAD_LINES,
    DEFAULT_SINGLETON_SHARE,
    FORMATS,
    MAX_SEED,
    NEAR_DUPLICATE,
    data_files,
    summary_lines,
)
from qx_env.errors import CorpusSourceError
from qx_env.flags import comma_list
from qx_env.snapshot import SPLIT_RULES, SPLITS, Snapshot, SplitRule, check_target, describe

DEFAULT_DATA_DIR = Path("../shared/data")
#: Keys an --input takes after its name: its own label mapping, its row filter, its encoding.
_INPUT_KEYS = ("toxic", "normal", "keep", "encoding")
_INPUT_SYNTAX = ":toxic=V,V, :normal=V,V, :keep=V,V and/or :encoding=NAME"
_INPUT_SPEC = re.compile(r"^(?P<path>.+?)(?P<keys>(?::[A-Za-z_]+=[^:]*)+)$")


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(x) for x in comma_list(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three numbers like 0.7,0.1,0.2, got {text!r}") from None
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected three numbers like 0.7,0.1,0.2, got {text!r}")
    return parts


def _splits_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--splits", type=_fractions, default="0.7,0.1,0.2",
                        help="train,dev,test fractions of the reports (each split within about one campaign's "
                             "share of its fraction)")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path,
                        help="snapshot directory to write (checked before any work)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same bytes")
    parser.add_argument("--report-share", type=float, default=0.2, help="share of toxic items reported")
    _splits_flag(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing snapshot at --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or summary")


def register(tools: argparse._SubParsersAction) -> None:
    parser = tools.add_parser("corpus", help="make and inspect snapshot corpora")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    defaults = SynthConfig()
    synth = commands.add_parser("synth", help="generate the synthetic second-hand marketplace")
    synth.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the listings")
    synth.add_argument("--items", type=int, default=defaults.items, help="number of listings (at least 10)")
    synth.add_argument("--toxic-share", type=float, default=defaults.toxic_share,
                       help="share of toxic listings, e.g. 0.0005-0.05 for a sweep (published prevalence is "
                       "~0.2%%); at least one toxic item; 0 is refused")
    synth.add_argument("--hard-negative-share", type=float, default=defaults.hard_negative_share,
                       help="share of normal listings that share broad words with toxic ones")
    synth.add_argument("--campaign-size", type=float, default=defaults.mean_campaign_size,
                       help="mean toxic campaign size")
    synth.add_argument("--min-campaign-size", type=int, default=defaults.min_campaign_size,
                       help="smallest campaign; sizes are a truncated power law")
    synth.add_argument("--max-campaign-size", type=int, default=defaults.max_campaign_size,
                       help="largest campaign")
    synth.add_argument("--singleton-share", type=float, default=defaults.singleton_share,
                       help="share of toxic listings in no campaign (measured on fbs_sms IL/FR)")
    synth.add_argument("--noise-scale", type=float, default=defaults.noise_scale,
                       help="multiplier of the surface-noise rates measured on real benign text (0 for template text)")
    synth.add_argument("--everyday-scale", type=float, default=defaults.everyday_scale,
                       help="multiplier of the everyday words' rates measured on real text (vocab/everyday.json; "
                            "0 for the listings without them)")
    synth.add_argument("--steps", type=int, default=defaults.steps, help="length of the posting timeline")
    synth.add_argument("--tags-per-listing", type=float, default=defaults.tags_per_listing,
                       help="mean seller tags per listing, a Zipf long tail of rare words (0 for none)")
    _common(synth)
    for action in synth._actions:  # the synthetic marketplace reports more of its (rarer) toxic items
        if action.dest == "report_share":
            action.default = defaults.report_share
    synth.add_argument("--split-by", choices=SPLIT_RULES, default=defaults.split_by,
                       help="campaign: a campaign's reports share a split; time: the latest reports (by their "
                            "item's created step) in test, campaigns crossing the boundary")
    synth.set_defaults(run=run_synth)

    resplit = commands.add_parser("split", help="assign a snapshot's reports to train, dev and test anew "
                                  "(the indexes stay valid)")
    resplit.add_argument("snapshot", type=Path, help="snapshot directory")
    resplit.add_argument("--by", choices=SPLIT_RULES, default="campaign",
                         help="campaign: a campaign's reports share a split; time: the latest reports in test")
    resplit.add_argument("--seed", type=int, default=0, help="seed of the campaign split (ties among equal sizes)")
    _splits_flag(resplit)
    resplit.set_defaults(run=run_split)

    comp = commands.add_parser("compose", help="build a snapshot from real labelled data",
                               description="Presets: " + "; ".join(f"{p.name}: {p.description}"
                                                                  for p in PRESETS.values())
                               + ". A text found with both labels is kept once, as toxic (counted in the summary).")
    source = comp.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", choices=sorted(PRESETS), help="a named recipe over the corpora in --data-dir")
    source.add_argument("--input", type=_input_spec, action="append",
                        metavar="FILE[:toxic=V,..][:normal=V,..][:keep=V,..][:encoding=NAME]",
                        help="a CSV/TSV/JSON/JSONL/Parquet/TXT file (repeatable), read with the column flags; a "
                        "directory (its data files, by suffix) or a shell-style pattern such as 'data/*.csv' "
                        "(quoted; expanded by qx, refused when it matches nothing) names several. After it, "
                        "':toxic=1,2' and/or ':normal=0' give its own label mapping instead of "
                        "--toxic-values/--normal-values; ':keep=0' keeps only the rows whose label value is "
                        "listed (a benign background file: only its normal rows; the rows left out are counted "
                        "in the summary); ':encoding=gbk' its own encoding instead of --encoding")
    comp.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="folder of the real corpora")
    comp.add_argument("--text-col", default="text", help="column holding the text")
    comp.add_argument("--label-col", default="label", help="column holding the label (0/1 unless mapped)")
    comp.add_argument("--label-from-filename", action="store_true",
                      help="take each row's label value from its file name without the suffix (spam.txt: "
                      "'spam'), mapped by --toxic-values/--normal-values; --label-col is then not read")
    comp.add_argument("--toxic-values", default="", help="comma-separated label values meaning toxic")
    comp.add_argument("--normal-values", default="", help="comma-separated label values meaning normal; with "
                      "--toxic-values, a value in neither list is refused (without it, other values are normal)")
    comp.add_argument("--category-col", default=None, help="column holding the category (else the file name)")
    comp.add_argument("--group-col", default=None, metavar="COLUMN",
                      help="column of the corpus's own family ids (a post and its rewritten twins): toxic rows "
                      "sharing a value, in any --input, are one family and their reports share a split (families "
                      "are also joined across categories where two texts are near-duplicates)")
    comp.add_argument("--format", default=None, choices=FORMATS, help="input format when the suffix does not tell")
    comp.add_argument("--encoding", default="utf-8", help="text encoding of the --input files (e.g. gbk, gb18030); "
                      "FILE:encoding=NAME gives one file its own")
    comp.add_argument("--bad-lines", choices=BAD_LINES, default="error",
                      help="a CSV/TSV line with too many fields or a JSONL line that is not JSON: refuse the file "
                      "(error) or drop the line, reporting the count and first line numbers (skip)")
    comp.add_argument("--lang", choices=("zh", "en"), default=None,
                      help="corpus language (presets: their own); checked by script: an input whose letters are "
                      "over 30%% Chinese (Han) characters is refused under en, one under 30%% under zh")
    comp.add_argument("--toxic-share", type=_toxic_share, default=None,
                      help="plant the toxic items into the background at this share, keeping whole clusters "
                      "(families first, see --singleton-share) (presets: 0.003, a published prevalence; "
                      "--input: 'source', the files' own share)")
    comp.add_argument("--background", choices=BACKGROUNDS, default=None,
                      help="normal items: the sources' benign rows (real), synthetic marketplace normals "
                      "(synth) or both (presets: both; --input: real)")
    comp.add_argument("--background-items", type=_background_items, default=None,
                      help="synthetic normals for --background synth|both: a number, or auto (what none "
                      f"means there): enough for every toxic item at the share, at most {AUTO_SYNTH_MAX:,}")
    comp.add_argument("--everyday-scale", type=float, default=1.0,
                      help="multiplier of the everyday words' rates in the synthetic background's listings "
                      "(vocab/everyday.json; 0: the listings before everyday words, to measure what they change)")
    comp.add_argument("--singleton-share", type=float, default=DEFAULT_SINGLETON_SHARE,
                      help="with --toxic-share: whole families (clusters of 2+) are planted first, until they hold "
                      "all but this share of the toxic items, then singletons fill the rest, so singletons are at "
                      "most this share where the sources have families enough (default: the synthetic "
                      "marketplace's 24%%, measured on fbs_sms)")
    comp.add_argument("--cluster-size", type=int, default=20,
                      help="mean size of toxic near-duplicate clusters (at least 1)")
    comp.add_argument("--near-duplicate", type=float, default=NEAR_DUPLICATE,
                      help="cosine similarity (character n-gram TF-IDF) at which two toxic texts are "
                      "near-duplicates; a toxic text with none is a singleton")
    _common(comp)
    for action in comp._actions:
        if action.dest == "seed":
            action.help = f"random seed in [0, {MAX_SEED}]; the same seed gives the same bytes"
    comp.set_defaults(run=run_compose)

    info = commands.add_parser("info", help="summarize a snapshot")
    info.add_argument("snapshot", type=Path, help="snapshot directory")
    info.add_argument("--samples", type=int, default=3, help="sample rows per class")
    info.set_defaults(run=run_info)


def _finish(snapshot: Snapshot, args: argparse.Namespace, started: float) -> int:
    path = snapshot.save(args.out, overwrite=args.overwrite)
    if not args.quiet:
        print(f"wrote {path} in {time.perf_counter() - started:.1f} s\n")
        print(describe(Snapshot.load(path)))
    return 0


def run_synth(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    check_target(args.out, args.overwrite)
    config = SynthConfig(
        language=args.lang, items=args.items, toxic_share=args.toxic_share,
        hard_negative_share=args.hard_negative_share, report_share=args.report_share,
        mean_campaign_size=args.campaign_size, min_campaign_size=args.min_campaign_size,
        max_campaign_size=args.max_campaign_size, singleton_share=args.singleton_share,
        noise_scale=args.noise_scale, everyday_scale=args.everyday_scale, steps=args.steps, seed=args.seed,
        split_fractions=args.splits,
        tags_per_listing=args.tags_per_listing, split_by=args.split_by,
    )
    return _finish(synthesize(config, progress=not args.quiet), args, started)


def _toxic_share(text: str) -> float | str:
    if text == "source":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share like 0.003 or 'source', got {text!r}") from None


def _background_items(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'auto', got {text!r}") from None


def _values(text: str) -> tuple[str, ...]:
    return tuple(comma_list(text))


def _input_spec(text: str) -> tuple[str, dict[str, tuple[str, ...]]]:
    """``FILE[:toxic=V,V][:normal=V,V][:keep=V,V][:encoding=NAME]``: a path (or directory, or
    pattern) and its own options (an existing path is a path as it is, colons included)."""
    match = _INPUT_SPEC.match(text)
    if Path(text).exists() or not match:
        return text, {}
    options: dict[str, tuple[str, ...]] = {}
    for part in match["keys"].split(":")[1:]:
        key, _, value = part.partition("=")
        if key not in _INPUT_KEYS:
            raise argparse.ArgumentTypeError(
                f"{text!r}: unknown per-input key {key!r}; after the file name give {_INPUT_SYNTAX}")
        if key in options:
            raise argparse.ArgumentTypeError(f"{text!r}: {key}= is given twice")
        if not _values(value):
            example = "gbk" if key == "encoding" else "0" if key == "keep" else "1"
            raise argparse.ArgumentTypeError(f"{text!r}: {key}= needs at least one value, e.g. {key}={example}")
        if key == "encoding" and len(_values(value)) != 1:
            raise argparse.ArgumentTypeError(f"{text!r}: encoding= takes one encoding, got {value!r}")
        options[key] = _values(value)
    return match["path"], options


def _input_sources(args: argparse.Namespace) -> list[Source]:
    """One source per file the --input flags name (directories and patterns expanded); a file named
    twice is refused, and files of one name in different folders are told apart by their folder."""
    files: list[tuple[Path, dict]] = []
    seen: dict[Path, str] = {}
    for spec, own in args.input:
        for path in data_files(spec):
            resolved = path.resolve()
            if resolved in seen:
                raise CorpusSourceError(f"{path} is named twice (by --input {seen[resolved]!r} and {spec!r}); "
                                        f"name each file once")
            seen[resolved] = spec
            files.append((path, own))
    names = [path.name for path, _ in files]
    if len(set(names)) < len(names):
        common = Path(os.path.commonpath([str(p.resolve().parent) for p, _ in files]))
        names = [str(path.resolve().relative_to(common)) for path, _ in files]
    sources = []
    for (path, own), name in zip(files, names):
        keep = ()
        if "keep" in own:
            if args.label_from_filename:
                raise CorpusSourceError(f"{path}: keep= filters by the label column, and --label-from-filename "
                                        f"reads none; leave the file out instead")
            keep = ((args.label_col, own["keep"]),)
        mapped = "toxic" in own or "normal" in own
        sources.append(Source(
            path=str(path), text_col=args.text_col, name=name,
            label_col=None if args.label_from_filename else args.label_col,
            label_from_filename=args.label_from_filename,
            toxic_values=own.get("toxic", ()) if mapped else _values(args.toxic_values),
            normal_values=own.get("normal", ()) if mapped else _values(args.normal_values),
            category_col=args.category_col, category=None if args.category_col else path.stem,
            format=args.format, encoding=own.get("encoding", (args.encoding,))[0], bad_lines=args.bad_lines,
            keep=keep, group_col=args.group_col))
    return sources


def run_compose(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    check_target(args.out, args.overwrite)
    if args.preset:
        sources = get_preset(args.preset)
        data_dir = args.data_dir
    else:
        sources = _input_sources(args)
        data_dir = None
    snapshot = compose(sources, data_dir=data_dir, language=args.lang, seed=args.seed,
                       report_share=args.report_share, toxic_share=args.toxic_share,
                       cluster_size=args.cluster_size, split_fractions=args.splits, progress=not args.quiet,
                       background=args.background, background_items=args.background_items,
                       near_duplicate=args.near_duplicate, singleton_share=args.singleton_share,
                       everyday_scale=args.everyday_scale)
    code = _finish(snapshot, args, started)
    if not args.quiet:
        print("\ncomposition (also in meta.json, generator.composition):")
        print("\n".join(summary_lines(snapshot.meta.generator["composition"])))
    return code


def run_split(args: argparse.Namespace) -> int:
    snapshot = Snapshot.load(args.snapshot)
    before = snapshot.meta.counts.get("splits", {})
    rule = SplitRule(args.by, args.seed, args.splits)  # bad fractions: one line, before anything is written
    after = snapshot.resplit(rule)
    counts = after.meta.counts["splits"]
    total = max(1, sum(counts.values()))
    print(f"split {args.snapshot} by {after.split_rule}: "
          + ", ".join(f"{name} {before.get(name, 0)} -> {counts.get(name, 0)} ({counts.get(name, 0) / total:.1%})"
                      for name in SPLITS))
    return 0


def run_info(args: argparse.Namespace) -> int:
    print(describe(Snapshot.load(args.snapshot), samples=args.samples))
    return 0
