"""Policies: read report texts and return search queries. Each is registered by name and made
from a spec string, e.g. ``make_policy("tfidf:top=3", snapshot)``. Policies that need torch or
transformers (``seqlabel``, ``llm``) are imported on first use. A policy fitted on a snapshot that is
made without one raises :class:`SnapshotRequired`."""

from policies._base import (
    OPTION_BOUNDS,
    POLICIES,
    Policy,
    SnapshotRequired,
    make_policy,
    policy_class,
    policy_names,
    register,
)
from policies._extractive import AnnotationPolicy, NgramPolicy, TextRankPolicy, TfidfPolicy
from policies._openai import OpenAIPolicy
from policies._oracle import OraclePolicy
from policies._prompts import INPUT_PREFIXES, INSTRUCTIONS, messages
from policies._random_span import RandomSpanPolicy
from policies._tiny_model import TinyModelConfig, build_tiny_model

_LAZY = {"LLMPolicy": "policies._llm", "load_causal_lm": "qx_env.models", "SeqLabelPolicy": "policies._seqlabel"}

__all__ = [
    "INPUT_PREFIXES", "INSTRUCTIONS", "OPTION_BOUNDS", "POLICIES", "AnnotationPolicy", "LLMPolicy", "NgramPolicy", "OpenAIPolicy", "OraclePolicy",
    "Policy", "RandomSpanPolicy", "SeqLabelPolicy", "SnapshotRequired", "TextRankPolicy", "TfidfPolicy", "TinyModelConfig", "build_tiny_model",
    "load_causal_lm", "make_policy", "messages", "policy_class", "policy_names", "register",
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'policies' has no attribute {name!r}")
