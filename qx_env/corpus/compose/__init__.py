"""Snapshots composed from real labelled corpora: presets and a generic column-mapped loader."""

from qx_env.corpus.compose._clusters import NEAR_DUPLICATE, near_duplicate_pairs, split_groups
from qx_env.corpus.compose._compose import (
           AUTO_SYNTH_MAX,
           BACKGROUNDS,
           DEFAULT_SINGLETON_SHARE,
           MAX_SEED,
           compose,
           get_preset,
           summary_lines,
)
from qx_env.corpus.compose._presets import PRESETS, Preset
from qx_env.corpus.compose._sources import BAD_LINES, FORMATS, Source, data_files, normalize_text, read_source

__all__ = ["AUTO_SYNTH_MAX", "BACKGROUNDS", "BAD_LINES", "DEFAULT_SINGLETON_SHARE", "FORMATS", "MAX_SEED", "NEAR_DUPLICATE", "PRESETS", "Preset", "Source", "compose",
           "data_files", "get_preset", "near_duplicate_pairs", "normalize_text", "read_source", "split_groups",
           "summary_lines"]
