"""Pieces of the modes benchmark that the online benchmark and the demo reuse."""

from __future__ import annotations

import pytest

from benchmarks._common import markdown_table
from benchmarks.modes import Extracted, parse_modes, silent_policies
from qx_env.errors import QxError


def test_silent_policies_are_those_without_a_single_query():
    extracted = {"annotation": Extracted({"r0": [], "r1": []}, 0.0), "tfidf": Extracted({"r0": ["a"], "r1": []}, 0.1)}
    assert silent_policies(extracted) == ["annotation"]


def test_parse_modes_names_the_unknown_ones():
    assert parse_modes("keyword-exact,hybrid") == ["keyword-exact", "hybrid"]
    with pytest.raises(QxError, match="sparse"):
        parse_modes("keyword-exact,sparse")
    with pytest.raises(QxError, match="none given"):
        parse_modes("")


def test_markdown_table_formats_floats_with_three_decimals():
    assert markdown_table(["a", "b"], [["x", 0.5], ["y", 2]]) == "| a | b |\n|---|---|\n| x | 0.500 |\n| y | 2 |"


def test_ranker_specs_keep_their_options():
    from benchmarks._common import split_specs

    assert split_specs("retrieval,oracle:auc=0.9,seed=2,lm:path=m,kind=judge,risk") == [
        "retrieval", "oracle:auc=0.9,seed=2", "lm:path=m,kind=judge", "risk"]
