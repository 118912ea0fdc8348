"""Policies: read report texts and return search queries. Each is registered by name and made
from a spec string, e.g. ``make_policy("tfidf:top=3", snapshot)``."""

from policies._base import POLICIES, Policy, make_policy, register
from policies._extractive import AnnotationPolicy, NgramPolicy, TextRankPolicy, TfidfPolicy
from policies._oracle import OraclePolicy

__all__ = [
    "POLICIES", "AnnotationPolicy", "NgramPolicy", "OraclePolicy", "Policy", "TextRankPolicy", "TfidfPolicy",
    "make_policy", "register",
]
