"""Policies: read report texts and return search queries. Each is registered by name and made
from a spec string, e.g. ``make_policy("tfidf:top=3", snapshot)``."""

from policies._base import POLICIES, Policy, make_policy, register
from policies._extractive import AnnotationPolicy, NgramPolicy, TextRankPolicy, TfidfPolicy
from policies._llm import LLMPolicy, load_causal_lm
from policies._oracle import OraclePolicy
from policies._prompts import INPUT_PREFIXES, INSTRUCTIONS, answer, messages
from policies._seqlabel import SeqLabelPolicy
from policies._tiny_model import TinyModelConfig, build_tiny_model

__all__ = [
    "INPUT_PREFIXES", "INSTRUCTIONS", "POLICIES", "AnnotationPolicy", "LLMPolicy", "NgramPolicy", "OraclePolicy",
    "Policy", "SeqLabelPolicy", "TextRankPolicy", "TfidfPolicy", "TinyModelConfig", "answer", "build_tiny_model", "load_causal_lm",
    "make_policy", "messages", "register",
]
