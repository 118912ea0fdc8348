"""Compose a snapshot from real labelled text: read sources, de-duplicate, cluster the toxic
items into near-duplicate campaigns and singletons, plant them into a benign background (real
benign texts, synthetic marketplace normals, or both) at a chosen toxic share, sample reports,
split."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from qx_env import __version__
from qx_env.corpus._reports import reports_table, sample_report_positions
from qx_env.corpus.compose._clusters import NEAR_DUPLICATE, cluster_texts, join_families, split_groups
from qx_env.corpus.compose._presets import PRESETS, Preset
from qx_env.corpus.compose._sources import Source, check_script, normalize_text, read_source
from qx_env.corpus.synth._generator import SynthConfig
from qx_env.errors import CorpusSourceError
from qx_env.snapshot import DEFAULT_FRACTIONS, SPLITS, Snapshot, SnapshotMeta, SplitRule, file_sha256

#: Largest seed: the clustering's scikit-learn estimators take seeds in [0, 2**32 - 1].
MAX_SEED = 2**32 - 1
#: Where the toxic items are planted: the sources' benign rows, synthetic normals, or both.
BACKGROUNDS = ("real", "synth", "both")
#: Most synthetic normals that ``background_items="auto"`` adds: 1M items. The product brief
#: asks for corpora of 10^6+ (Xianyu: 100M+ listing users); measured on 2 shared cores
#: (2026-12), a 1M-item harm-zh build takes about a minute and keyword indexing scales from 7.2 s
#: per 110k texts. Give ``background_items`` explicitly for larger corpora.
AUTO_SYNTH_MAX = 1_000_000
#: Listings in the pilot run that measures how many synthetic normals survive the length range
#: and de-duplication, to size the real run.
_PILOT_ITEMS = 2_000
#: Toxic share asked of the synthetic generator, whose toxic listings are discarded (only its
#: normal listings are background): the smallest it makes cheaply; it refuses 0.
_SYNTH_TOXIC_SHARE = 0.001
#: ``source`` column value of the synthetic normals (suffixed with the language).
SYNTH_SOURCE = "qx_env.corpus.synth"
#: Share of the planted toxic items that are singletons (in no family) when a toxic share is
#: planted: the synthetic marketplace's, measured on fbs_sms IL/FR (24.4% of 5,646 toxic texts have
#: no near-duplicate; see :attr:`SynthConfig.singleton_share`). Families are planted first, until
#: they hold the rest of the toxic items, then singletons fill the share (see :func:`_plant`).
DEFAULT_SINGLETON_SHARE = SynthConfig.singleton_share


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise CorpusSourceError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None


def _length_range(frame: pd.DataFrame) -> tuple[float, float]:
    """The 5-95% length range of the toxic texts."""
    low, high = np.percentile(frame.loc[frame["label"] == 1, "text"].str.len(), [5, 95])
    return float(low), float(high)


def _drop_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Keep the first row of each text; a text seen with both labels keeps label 1 (a source of
    violations is a moderation decision about that text; benign sources were not reviewed for
    the violation)."""
    labels = frame.groupby("text", sort=False)["label"].nunique()
    conflicted = labels.index[labels > 1]
    mixed = frame["text"].isin(conflicted)
    kept = frame[~(mixed & (frame["label"] == 0))].drop_duplicates("text", keep="first")
    dropped = frame.drop(kept.index)
    report = {
        "dropped": len(dropped),
        "by_source": {k: int(v) for k, v in dropped["source"].value_counts().sort_index().items()},
        "both_labels": {"texts": len(conflicted), "kept_label": 1,
                        "examples": [str(t)[:80] for t in conflicted[:5]]},
    }
    return kept, report


def _synthetic_normals(language: str, count: int, seed: int, length_range: tuple[float, float] | None,
                       exclude: set[str], progress: bool, everyday_scale: float = 1.0) -> tuple[pd.DataFrame, dict]:
    """``count`` normal listings of the synthetic marketplace (label 0 only, no hard negatives),
    normalised, within ``length_range``, not repeating each other or ``exclude``; ``everyday_scale``
    multiplies the everyday words' measured rates (0: the listings before everyday words)."""
    from qx_env.corpus.synth import SynthConfig, synthesize

    def make(items: int) -> tuple[pd.DataFrame, SynthConfig]:
        config = SynthConfig(language=language, items=max(items, 10), toxic_share=_SYNTH_TOXIC_SHARE,
                             hard_negative_share=0.0, seed=seed, everyday_scale=everyday_scale)
        table = synthesize(config, progress=progress).items
        columns = ["text", "label", "category"] + (["hard_negative"] if "hard_negative" in table.column_names else [])
        frame = table.select(columns).to_pandas()
        frame["source_row"] = np.arange(len(frame), dtype=np.int64)
        normal = frame["label"] == 0
        if "hard_negative" in frame:
            normal &= ~frame["hard_negative"].fillna(False).astype(bool)
        frame = frame.loc[normal, ["text", "label", "category", "source_row"]].copy()
        frame["text"] = [normalize_text(t) for t in frame["text"]]
        keep = ~frame["text"].duplicated() & ~frame["text"].isin(exclude) & (frame["text"].str.len() > 0)
        if length_range is not None:
            keep &= frame["text"].str.len().between(*length_range)
        return frame[keep], config

    if count <= 0:
        return pd.DataFrame(columns=["text", "label", "category", "source_row"]), {"items": 0}
    pilot, _ = make(min(count, _PILOT_ITEMS))
    rate = max(len(pilot), 1) / max(min(count, _PILOT_ITEMS), 10)
    generated = math.ceil(count / rate * 1.02) + 20
    frame, config = make(generated)
    if len(frame) < count:  # more duplicates at scale than in the pilot: one larger run
        generated = math.ceil(generated * count / max(len(frame), 1) * 1.02) + 20
        frame, config = make(generated)
    frame = frame.iloc[:count]
    frame["label"] = frame["label"].astype("int8")
    frame["source"] = f"{SYNTH_SOURCE}/{language}"
    info = {"items": len(frame), "generated": config.items, "requested": count,
            "config": {"language": language, "items": config.items, "toxic_share": _SYNTH_TOXIC_SHARE,
                       "hard_negative_share": 0.0, "seed": seed, "everyday_scale": everyday_scale},
            "kept": "label 0, no hard negatives"}
    return frame, info


def _plant(clusters: pd.Series, wanted: int, seed: int, singleton_share: float = DEFAULT_SINGLETON_SHARE) -> set:
    """Clusters (singletons included) kept so that their items add up to at most ``wanted``.

    Families first: clusters of two or more, in a uniformly random order, are kept whole while they
    fit in ``wanted``, until they hold at least ``wanted - round(wanted * singleton_share)`` items
    (or while the singletons are too few for the rest); then singletons, in random order, fill the
    rest. So singletons are at most ``singleton_share`` of the planted items wherever the source
    has families enough. Visiting every cluster among thousands of singletons instead (the earlier
    rule) kept 0 of 19-39 families at a 0.3% share: singletons filled the quota before a family
    came up.
    """
    sizes = clusters.sort_index()
    rng = np.random.default_rng(seed)
    family = np.flatnonzero(sizes.to_numpy() > 1)
    single = np.flatnonzero(sizes.to_numpy() == 1)
    family, single = family[rng.permutation(len(family))], single[rng.permutation(len(single))]
    families_at_least = wanted - round(wanted * singleton_share)
    kept, total = set(), 0
    for position in family:
        if total >= families_at_least and wanted - total <= len(single):
            break
        size = int(sizes.iloc[position])
        if total + size <= wanted:
            kept.add(sizes.index[position])
            total += size
    for position in single[:max(0, wanted - total)]:
        kept.add(sizes.index[position])
    return kept


def _check(seed, cluster_size, near_duplicate, report_share, toxic_share, background, background_items,
           singleton_share=DEFAULT_SINGLETON_SHARE, everyday_scale=1.0) -> None:
    if isinstance(everyday_scale, bool) or not isinstance(everyday_scale, (int, float)) or not everyday_scale >= 0:
        raise CorpusSourceError(f"--everyday-scale must be a number >= 0 (1: the measured rates, 0: none), "
                                f"got {everyday_scale!r}")
    if everyday_scale != 1.0 and background == "real":
        raise CorpusSourceError("--everyday-scale shapes the synthetic background; use it with --background synth "
                                "or both")
    if not isinstance(singleton_share, (int, float)) or not 0 <= singleton_share <= 1:
        raise CorpusSourceError(f"--singleton-share must be in [0, 1] (e.g. {DEFAULT_SINGLETON_SHARE}), "
                                f"got {singleton_share!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise CorpusSourceError(f"--seed must be a whole number in [0, {MAX_SEED}], got {seed!r}")
    if isinstance(cluster_size, bool) or not isinstance(cluster_size, (int, np.integer)) or cluster_size < 1:
        raise CorpusSourceError(f"--cluster-size must be a whole number of at least 1 (the mean size of a "
                                f"toxic near-duplicate cluster), got {cluster_size!r}")
    if not 0 <= near_duplicate <= 1:
        raise CorpusSourceError(f"--near-duplicate must be a cosine similarity in [0, 1], got {near_duplicate}")
    if not 0 < report_share <= 1:
        raise CorpusSourceError(f"--report-share must be in (0, 1], got {report_share}")
    if toxic_share != "source" and (not isinstance(toxic_share, (int, float)) or not 0 < toxic_share < 1):
        raise CorpusSourceError(f"--toxic-share must be in (0, 1) (e.g. 0.003 for 0.3%), or 'source', "
                                f"got {toxic_share}")
    if background not in BACKGROUNDS:
        raise CorpusSourceError(f"--background must be one of {', '.join(BACKGROUNDS)}, got {background!r}")
    if background_items is not None and background_items != "auto" and (
            isinstance(background_items, bool) or not isinstance(background_items, (int, np.integer))
            or background_items < 0):
        raise CorpusSourceError(f"--background-items must be 'auto' or a whole number >= 0, got {background_items!r}")
    if background == "real" and background_items not in (None, 0):
        raise CorpusSourceError("--background-items sizes the synthetic background; use it with "
                                "--background synth or both")
    if background_items == "auto" and toxic_share == "source":
        raise CorpusSourceError("--background-items auto sizes the background for a --toxic-share; give one")


def compose(
    sources: Sequence[Source] | Preset,
    data_dir: str | Path | None = None,
    language: str | None = None,
    seed: int = 0,
    report_share: float = 0.2,
    toxic_share: float | str | None = None,
    cluster_size: int = 20,
    split_fractions: Sequence[float] = DEFAULT_FRACTIONS,
    name: str | None = None,
    progress: bool = True,
    background: str | None = None,
    background_items: int | str | None = None,
    near_duplicate: float = NEAR_DUPLICATE,
    singleton_share: float = DEFAULT_SINGLETON_SHARE,
    everyday_scale: float = 1.0,
) -> Snapshot:
    """Build a snapshot from a preset or a list of sources (see :class:`Source`).

    The toxic items (label 1) are planted into a background of normal items at ``toxic_share``:
    whole clusters and singletons are kept at random until ``toxic_share * background /
    (1 - toxic_share)`` toxic items are reached; the background is never cut to raise the share
    (a share the toxic items cannot reach is refused); families (clusters of two or more) first,
    until they hold all but ``singleton_share`` of them, then singletons (see :func:`_plant`). Clusters are
    made within each category, then joined into one family across categories where two texts are
    near-duplicates, or share a source's ``group_col`` value (see :func:`join_families`), so that
    a family's reports share a split. ``background`` is ``"real"`` (the
    sources' label-0 rows), ``"synth"`` (synthetic marketplace normals instead) or ``"both"``;
    ``background_items`` is the number of synthetic normals, or ``"auto"`` (the default with a
    synthetic part): enough for every toxic item to fit, at most :data:`AUTO_SYNTH_MAX`.
    ``everyday_scale`` multiplies the everyday words' rates in the synthetic normals (0: the listings
    before everyday words, to measure what they change). ``toxic_share="source"`` keeps every item at the
    sources' own share. Presets default to their ``toxic_share`` and ``background``; lists of sources to
    ``"source"`` and ``"real"``.
    ``meta.generator["composition"]`` records what was kept and dropped (see :func:`summary_lines`).
    """
    preset = sources if isinstance(sources, Preset) else None
    source_list = list(preset.sources if preset else sources)
    language = language or (preset.language if preset else None)
    if language not in ("zh", "en"):
        raise CorpusSourceError(f"give the corpus language (--lang zh|en), got {language!r}")
    if toxic_share is None:
        toxic_share = preset.toxic_share if preset else "source"
    background = background or (preset.background if preset else "real")
    _check(seed, cluster_size, near_duplicate, report_share, toxic_share, background, background_items,
           singleton_share, everyday_scale)
    if background != "real" and background_items is None:
        background_items = "auto" if toxic_share != "source" else None
        if background_items is None:
            raise CorpusSourceError("--background synth or both needs --background-items N or a --toxic-share")
    root = Path(data_dir) if data_dir is not None else None

    frames, described = [], []
    for source in tqdm(source_list, desc="read sources", unit="file", disable=not progress):
        frame = read_source(source, root)
        frames.append(frame)
        path = source.resolve(root)
        check_script(frame, language, source.name or str(path))
        entry = {"name": source.name or path.name, "path": str(path), "rows": len(frame),
                 "sha256": file_sha256(path)}
        if frame.attrs.get("label_values"):
            entry["label_values"] = frame.attrs["label_values"]
            entry["label_map"] = frame.attrs["label_map"]
        entry["empty_rows"] = frame.attrs.get("empty_rows", 0)
        if "filtered_rows" in frame.attrs:
            entry["filtered_rows"] = frame.attrs["filtered_rows"]
        if "bad_lines" in frame.attrs:
            entry["bad_lines"] = frame.attrs["bad_lines"]
        described.append(entry)
    frame = pd.concat(frames, ignore_index=True)
    if not (frame["label"] == 1).any():
        seen = "; ".join(f"{entry['name']}: " + (", ".join(f"{v!r} {m['rows']:,} -> {'toxic' if m['label'] else 'normal'}"
                                                          for v, m in entry["label_map"].items())
                                                 if entry.get("label_map") else f"{entry['rows']:,} rows of constant label")
                         for entry in described)
        raise CorpusSourceError(f"the sources hold no toxic item (label 1); check the label mapping "
                                f"(--toxic-values, --normal-values). Label values seen: {seen}")
    frame, duplicates = _drop_duplicates(frame)
    length_range = _length_range(frame) if preset and preset.match_lengths else None
    normal = frame["label"] == 0
    real_unused: dict[str, int] = {}
    unused_reason = None
    if background == "synth":
        unused_reason = "--background synth"
        real_unused = {k: int(v) for k, v in frame.loc[normal, "source"].value_counts().sort_index().items()}
        frame = frame[~normal]
    elif length_range is not None:
        outside = normal & ~frame["text"].str.len().between(*length_range)
        unused_reason = "outside the toxic texts' 5-95% length range"
        real_unused = {k: int(v) for k, v in frame.loc[outside, "source"].value_counts().sort_index().items()}
        frame = frame[~outside]

    frame = frame.reset_index(drop=True)
    frame["cluster_id"] = None
    toxic = frame.index[frame["label"] == 1]
    try:
        clusters = cluster_texts(frame.loc[toxic, "text"].tolist(), frame.loc[toxic, "category"].tolist(),
                                 language, seed, cluster_size, near_duplicate)
    except ValueError as exc:
        raise CorpusSourceError(str(exc)) from None
    grouped = any(source.group_col for source in source_list)
    clusters, families = join_families(clusters, frame.loc[toxic, "text"].tolist(),
                                       frame.loc[toxic, "category"].tolist(), language, near_duplicate,
                                       frame.loc[toxic, "group"].tolist() if grouped else None)
    frame.loc[toxic, "cluster_id"] = clusters
    n_toxic, n_real = len(toxic), int((frame["label"] == 0).sum())

    synth_info: dict = {"items": 0}
    if background != "real":
        if background_items == "auto":
            needed = math.ceil(n_toxic * (1 - toxic_share) / toxic_share - 1e-9) - n_real
            count = int(min(max(needed, 0), AUTO_SYNTH_MAX))
        else:
            count = int(background_items)
        synthetic, synth_info = _synthetic_normals(language, count, seed, length_range, set(frame["text"]), progress,
                                                   everyday_scale)
        synth_info["sized"] = "auto" if background_items == "auto" else "given"
        frame = pd.concat([frame, synthetic.assign(cluster_id=None)], ignore_index=True)
    n_background = int((frame["label"] == 0).sum())

    sizes = frame.loc[frame["label"] == 1, "cluster_id"].value_counts()
    kept_clusters = set(sizes.index)
    if toxic_share != "source":
        wanted = math.floor(toxic_share * n_background / (1 - toxic_share) + 1e-9)
        where = f"{preset.name}: " if preset else ""
        if wanted > n_toxic:
            reachable = n_toxic / (n_toxic + n_background)
            fix = ("give fewer --background-items or --background-items auto" if background != "real" and
                   background_items != "auto" else "use fewer or smaller background sources")
            raise CorpusSourceError(
                f"{where}{n_toxic:,} toxic items are too few for --toxic-share {toxic_share:g} over a background of "
                f"{n_background:,} normal items (it needs {wanted:,}); with every toxic item the share reachable is "
                f"{reachable:.3%}. Lower --toxic-share or {fix}: the background is never cut to raise the share"
            )
        if wanted == 0:
            raise CorpusSourceError(
                f"{where}--toxic-share {toxic_share:g} over a background of {n_background:,} normal items leaves no "
                f"toxic item (one needs {math.ceil((1 - toxic_share) / toxic_share):,} background items); raise "
                f"--toxic-share or add background (--background both --background-items N)"
            )
        kept_clusters = _plant(sizes, wanted, seed, singleton_share)
        if not kept_clusters:
            raise CorpusSourceError(
                f"{where}--toxic-share {toxic_share:g} over {n_background:,} normal items allows {wanted:,} toxic "
                f"items, fewer than the smallest toxic cluster ({int(sizes.min()):,} items; clusters are kept "
                f"whole): raise --toxic-share, add background, or lower --cluster-size"
            )
        frame = frame[(frame["label"] == 0) | frame["cluster_id"].isin(kept_clusters)]

    order = np.random.default_rng(seed).permutation(len(frame))
    frame = frame.iloc[order].reset_index(drop=True)
    labels = frame["label"].to_numpy()
    positions = sample_report_positions(labels, report_share, seed + 1, fix="check the label mapping")
    reported = frame.iloc[positions]
    groups, grouping = split_groups(reported["cluster_id"].tolist(), reported["text"].tolist(), language,
                                    near_duplicate)
    group_of = dict(zip(reported["cluster_id"], groups))  # a family's reports all join the same group
    split_group = [group_of.get(c, c) if label == 1 else None for c, label in zip(frame["cluster_id"], labels)]
    ids = [f"i{i:07d}" for i in range(len(frame))]
    items = pa.table({
        "id": pa.array(ids, pa.string()),
        "text": pa.array(frame["text"].tolist(), pa.string()),
        "label": pa.array(frame["label"].to_numpy(dtype=np.int8), pa.int8()),
        "category": pa.array(frame["category"].astype(str).tolist(), pa.string()),
        "cluster_id": pa.array(frame["cluster_id"].tolist(), pa.string()),
        "split_group": pa.array(split_group, pa.string()),
        "seller_id": pa.nulls(len(frame), pa.string()),
        "created_step": pa.array(np.zeros(len(frame), dtype=np.int32)),
        "source": pa.array(frame["source"].tolist(), pa.string()),
        "source_row": pa.array(frame["source_row"].to_numpy(dtype=np.int64)),
    })
    reports = reports_table([ids[p] for p in positions], [frame["cluster_id"].iloc[p] for p in positions],
                            seed + 2, fractions=split_fractions,
                            split_groups=[split_group[p] for p in positions])
    composition = _composition(frame, sizes, kept_clusters, toxic_share, n_background, duplicates,
                               {"counts": real_unused, "reason": unused_reason}, synth_info, length_range, reports)
    composition["families"] = {**families, "singleton_share_asked": singleton_share if toxic_share != "source"
                               else None, "split_groups": grouping}
    composition["inputs"] = {entry["name"]: {k: entry[k] for k in ("rows", "empty_rows", "filtered_rows", "bad_lines",
                                                                    "label_map")
                                             if k in entry} for entry in described}
    meta = SnapshotMeta(
        language=language,
        name=name or (preset.name if preset else "composed"),
        seed=seed,
        generator={
            "name": "qx_env.corpus.compose",
            "version": __version__,
            "params": {"preset": preset.name if preset else None, "report_share": report_share,
                       "toxic_share": toxic_share, "background": background,
                       "background_items": background_items, "cluster_size": cluster_size,
                       "near_duplicate": near_duplicate, "singleton_share": singleton_share,
                       "split_fractions": list(split_fractions),
                       "duplicates_dropped": duplicates["dropped"]},
            "composition": composition,
        },
        sources=described,
        split=SplitRule("campaign", seed + 2, tuple(split_fractions)).as_dict(),
    )
    return Snapshot.from_tables(items, reports, meta)


def _composition(frame, sizes, kept_clusters, toxic_share, n_background, duplicates, real_unused, synth_info,
                 length_range, reports) -> dict:
    """What a snapshot holds and what was dropped to make it (stored in meta.json)."""
    kept = sizes[sizes.index.isin(kept_clusters)]
    single, kept_single = sizes == 1, kept == 1
    dropped = sizes[~sizes.index.isin(kept_clusters)]
    dropped_clusters = {str(k): int(v) for k, v in dropped[dropped > 1].sort_index().items()}
    dropped_singletons = dropped[dropped == 1].index.to_series().str.rsplit("/", n=1).str[0].value_counts()
    toxic = frame["label"] == 1
    synthetic = frame["source"].str.startswith(SYNTH_SOURCE)
    real_normal = (~toxic) & ~synthetic
    lengths = frame["text"].str.len()
    splits = pd.Series(reports.column("split").to_pylist(), dtype=object).value_counts()

    def median(mask) -> float | None:
        return float(lengths[mask].median()) if mask.any() else None

    return {
        "items": len(frame),
        "toxic_share": {"requested": toxic_share, "planted": round(float(toxic.mean()), 6)},
        "toxic": {
            "items": {"available": int(sizes.sum()), "kept": int(kept.sum()), "dropped": int(sizes.sum() - kept.sum())},
            "clusters": {"available": int((~single).sum()), "kept": int((~kept_single).sum()),
                         "dropped": int((~single).sum() - (~kept_single).sum())},
            "clustered_items": {"available": int(sizes[~single].sum()), "kept": int(kept[~kept_single].sum())},
            "singletons": {"available": int(single.sum()), "kept": int(kept_single.sum()),
                           "dropped": int(single.sum() - kept_single.sum())},
            "by_source": {k: int(v) for k, v in frame.loc[toxic, "source"].value_counts().sort_index().items()},
            "dropped_clusters": dropped_clusters,
            "dropped_singletons_by_category": {str(k): int(v) for k, v in dropped_singletons.sort_index().items()},
        },
        "background": {
            "items": n_background,
            "real": {k: int(v) for k, v in frame.loc[real_normal, "source"].value_counts().sort_index().items()},
            "real_unused": real_unused["counts"],
            "real_unused_reason": real_unused["reason"],
            "synthetic": synth_info,
            "length_range": list(length_range) if length_range else None,
        },
        "duplicates": duplicates,
        "style": {
            "toxic_share_of_real_source_items": (round(float(toxic.sum() / (toxic | real_normal).sum()), 6)),
            "median_length": {"toxic": median(toxic), "real_normal": median(real_normal),
                              "synthetic_normal": median(synthetic)},
        },
        "reports": {"total": reports.num_rows, **{s: int(splits.get(s, 0)) for s in SPLITS}},
    }


#: Dropped clusters named in the printed summary (meta.json lists all).
_SHOWN = 8


def _bad_lines_note(bad: dict | None) -> str:
    if not bad:
        return ""
    first = ", ".join(map(str, bad["first"]))
    return f"; malformed lines skipped {bad['count']:,}" + (f" (lines {first}{', ...' if bad['count'] > len(bad['first']) else ''})"
                                                          if bad["count"] else "")


def _singleton_note(composition: dict) -> str:
    asked = composition.get("families", {}).get("singleton_share_asked")
    kept = composition["toxic"]["items"]["kept"]
    if asked is None or not kept:
        return ""
    return (f"; singleton share {composition['toxic']['singletons']['kept'] / kept:.1%} "
            f"(at most {asked:.0%} asked: families planted first)")


def summary_lines(composition: dict) -> list[str]:
    """The composition of a snapshot in a few lines (printed by ``qx corpus compose``)."""
    toxic, back = composition["toxic"], composition["background"]
    share = composition["toxic_share"]
    requested = share["requested"]
    asked = requested if requested == "source" else f"{requested:.3%}"
    lines = [
        (f"toxic share {share['planted']:.3%} (asked: {asked})  items {composition['items']:,}  "
         f"background {back['items']:,}"),
        (f"toxic items kept {toxic['items']['kept']:,} of {toxic['items']['available']:,} "
         f"(dropped {toxic['items']['dropped']:,} to reach the share)"),
        (f"  families (clusters of 2+) kept {toxic['clusters']['kept']:,} of {toxic['clusters']['available']:,} "
         f"(dropped {toxic['clusters']['dropped']:,}); family items kept {toxic['clustered_items']['kept']:,} of "
         f"{toxic['clustered_items']['available']:,}; singletons kept "
         f"{toxic['singletons']['kept']:,} of {toxic['singletons']['available']:,} "
         f"(dropped {toxic['singletons']['dropped']:,})" + _singleton_note(composition)),
        "background real: " + (", ".join(f"{k} {v:,}" for k, v in back["real"].items()) or "none"),
        f"background synthetic: {back['synthetic']['items']:,}"
        + (f" ({back['synthetic']['sized']}-sized)" if back["synthetic"].get("sized") else ""),
    ]
    families = composition.get("families", {})
    if families.get("clusters_joined"):
        lines.insert(3, f"  families joined across categories or groups: {families['clusters_joined']:,} clusters into "
                     f"{families['families_made']:,} (near-duplicate pairs across categories "
                     f"{families['near_duplicate_pairs_across_categories']:,}; rows with a group "
                     f"{families['grouped_rows']:,}), so each family's reports share a split")
    dropped = toxic.get("dropped_clusters", {})
    if dropped:
        shown = sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))[:_SHOWN]
        lines.append("  clusters dropped: " + ", ".join(f"{k} ({v:,})" for k, v in shown)
                     + (f", ... {len(dropped) - len(shown):,} more (all in meta.json)" if len(dropped) > len(shown) else ""))
    if toxic.get("dropped_singletons_by_category"):
        lines.append("  singletons dropped by category: "
                     + ", ".join(f"{k} {v:,}" for k, v in toxic["dropped_singletons_by_category"].items()))
    if back["real_unused"]:
        lines.append(f"real benign not used ({back['real_unused_reason']}): "
                     + ", ".join(f"{k} {v:,}" for k, v in back["real_unused"].items()))
    for name, entry in composition.get("inputs", {}).items():
        filtered = entry.get("filtered_rows")
        lines.append(f"input {name}: {entry['rows']:,} rows kept; empty texts dropped {entry.get('empty_rows', 0):,}"
                     + (f"; rows left out by the filter {filtered['dropped']:,} (kept: {filtered['rule']})"
                        if filtered else "")
                     + _bad_lines_note(entry.get("bad_lines")))
        mapping = entry.get("label_map", {})
        if mapping:
            lines.append("  labels: " + ", ".join(
                f"{v!r} {m['rows']:,} -> {'toxic' if m['label'] else 'normal'}"
                + (f" ({m['rule']})" if m["rule"].startswith("not in") else "") for v, m in mapping.items()))
    dup = composition["duplicates"]
    both = dup["both_labels"]
    by_source = ", ".join(f"{k} {v:,}" for k, v in dup.get("by_source", {}).items())
    lines.append(f"duplicates dropped {dup['dropped']:,}" + (f" ({by_source})" if by_source else "")
                 + f"; texts with both labels {both['texts']:,} (rule: kept as toxic, label {both['kept_label']}"
                 + (f"; e.g. {both['examples'][0]!r})" if both["texts"] else ")"))
    style = composition["style"]
    lengths = style["median_length"]
    lines.append(f"style: toxic share among real-source items {style['toxic_share_of_real_source_items']:.3%}; "
                 "median length " + ", ".join(f"{k} {v:g}" for k, v in lengths.items() if v is not None))
    reports = composition["reports"]
    lines.append(f"reports {reports['total']:,} (" + ", ".join(f"{s} {reports[s]:,}" for s in SPLITS) + ")")
    return lines
