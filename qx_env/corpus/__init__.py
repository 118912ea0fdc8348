"""Making snapshot corpora: the synthetic marketplace (``synth``) and real data (``compose``)."""

from qx_env.corpus.compose import PRESETS, Source, compose, get_preset
from qx_env.corpus.synth import SynthConfig, synthesize

__all__ = ["PRESETS", "Source", "SynthConfig", "compose", "get_preset", "synthesize"]
