"""Compose a snapshot from real labelled text: read sources, de-duplicate, cluster the toxic
items into near-duplicate campaigns, sample reports, split."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from qx_env import __version__
from qx_env.corpus._reports import reports_table, sample_report_positions
from qx_env.corpus.compose._clusters import cluster_texts
from qx_env.corpus.compose._presets import PRESETS, Preset
from qx_env.corpus.compose._sources import Source, read_source
from qx_env.errors import CorpusSourceError
from qx_env.snapshot import DEFAULT_FRACTIONS, Snapshot, SnapshotMeta, file_sha256


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise CorpusSourceError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None


def _match_lengths(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop normal texts outside the 5-95% length range of the toxic texts."""
    lengths = frame["text"].str.len()
    toxic = lengths[frame["label"] == 1]
    if toxic.empty:
        return frame
    low, high = np.percentile(toxic, [5, 95])
    keep = (frame["label"] == 1) | lengths.between(low, high)
    return frame[keep]


def _limit_toxic_share(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """Drop whole toxic clusters (or normal items) at random until toxic items are ``share``."""
    if not 0 < share < 1:
        raise CorpusSourceError(f"--toxic-share must be in (0, 1), got {share}")
    rng = np.random.default_rng(seed)
    toxic = frame["label"] == 1
    n_toxic, n_normal = int(toxic.sum()), int((~toxic).sum())
    if n_toxic / len(frame) > share:
        wanted = share * n_normal / (1 - share)
        clusters = frame.loc[toxic, "cluster_id"].value_counts().sort_index()
        kept, total = [], 0
        for cluster in clusters.index[rng.permutation(len(clusters))]:
            if total >= wanted:
                break
            kept.append(cluster)
            total += clusters[cluster]
        return frame[~toxic | frame["cluster_id"].isin(kept)]
    wanted = round(n_toxic * (1 - share) / share)
    drop = rng.choice(np.flatnonzero(~toxic.to_numpy()), size=n_normal - wanted, replace=False)
    return frame.drop(frame.index[drop])


def compose(
    sources: Sequence[Source] | Preset,
    data_dir: str | Path | None = None,
    language: str | None = None,
    seed: int = 0,
    report_share: float = 0.2,
    toxic_share: float | None = None,
    cluster_size: int = 20,
    split_fractions: Sequence[float] = DEFAULT_FRACTIONS,
    name: str | None = None,
    progress: bool = True,
) -> Snapshot:
    """Build a snapshot from a preset or a list of sources (see :class:`Source`)."""
    preset = sources if isinstance(sources, Preset) else None
    source_list = list(preset.sources if preset else sources)
    language = language or (preset.language if preset else None)
    if language not in ("zh", "en"):
        raise CorpusSourceError(f"give the corpus language (--lang zh|en), got {language!r}")
    root = Path(data_dir) if data_dir is not None else None
    frames, described = [], []
    for source in tqdm(source_list, desc="read sources", unit="file", disable=not progress):
        frame = read_source(source, root)
        frames.append(frame)
        path = source.resolve(root)
        described.append({"name": source.name or path.name, "path": str(path), "rows": len(frame),
                          "sha256": file_sha256(path)})
    frame = pd.concat(frames, ignore_index=True)
    before = len(frame)
    frame = frame.drop_duplicates("text", keep="first")
    duplicates = before - len(frame)
    if preset and preset.match_lengths:
        frame = _match_lengths(frame)
    if not (frame["label"] == 1).any():
        raise CorpusSourceError("the sources hold no toxic item (label 1); check the label mapping")

    frame = frame.reset_index(drop=True)
    frame["cluster_id"] = None
    toxic = frame.index[frame["label"] == 1]
    clusters = cluster_texts(frame.loc[toxic, "text"].tolist(), frame.loc[toxic, "category"].tolist(),
                             language, seed, cluster_size)
    frame.loc[toxic, "cluster_id"] = clusters
    if toxic_share is not None:
        frame = _limit_toxic_share(frame, toxic_share, seed)

    order = np.random.default_rng(seed).permutation(len(frame))
    frame = frame.iloc[order].reset_index(drop=True)
    ids = [f"i{i:07d}" for i in range(len(frame))]
    items = pa.table({
        "id": pa.array(ids, pa.string()),
        "text": pa.array(frame["text"].tolist(), pa.string()),
        "label": pa.array(frame["label"].to_numpy(), pa.int8()),
        "category": pa.array(frame["category"].astype(str).tolist(), pa.string()),
        "cluster_id": pa.array(frame["cluster_id"].tolist(), pa.string()),
        "seller_id": pa.nulls(len(frame), pa.string()),
        "created_step": pa.array(np.zeros(len(frame), dtype=np.int32)),
        "source": pa.array(frame["source"].tolist(), pa.string()),
        "source_row": pa.array(frame["source_row"].to_numpy(dtype=np.int64)),
    })
    labels = frame["label"].to_numpy()
    positions = sample_report_positions(labels, report_share, seed + 1)
    reports = reports_table([ids[p] for p in positions], [frame["cluster_id"].iloc[p] for p in positions],
                            seed + 2, fractions=split_fractions)
    meta = SnapshotMeta(
        language=language,
        name=name or (preset.name if preset else "composed"),
        seed=seed,
        generator={
            "name": "qx_env.corpus.compose",
            "version": __version__,
            "params": {"preset": preset.name if preset else None, "report_share": report_share,
                       "toxic_share": toxic_share, "cluster_size": cluster_size,
                       "split_fractions": list(split_fractions), "duplicates_dropped": duplicates},
        },
        sources=described,
    )
    return Snapshot.from_tables(items, reports, meta)
