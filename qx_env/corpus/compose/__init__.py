"""Snapshots composed from real labelled corpora: presets and a generic column-mapped loader."""

from qx_env.corpus.compose._compose import compose, get_preset
from qx_env.corpus.compose._presets import PRESETS, Preset
from qx_env.corpus.compose._sources import FORMATS, Source, normalize_text, read_source

__all__ = ["FORMATS", "PRESETS", "Preset", "Source", "compose", "get_preset", "normalize_text", "read_source"]
