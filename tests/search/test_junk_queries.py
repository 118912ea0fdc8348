"""A query with no meaningful content retrieves nothing in every mode and earns no reward."""

from __future__ import annotations

import gymnasium as gym
import pytest

import qx_env  # noqa: F401 - registers the env
from indexes import clean_query, has_content
from qx_env import SearchSystem

JUNK = ["((((", "!!!", '"', "，,，", "😀" * 50, "a", "7", " ", "\u200b\t", "★☆♥", "～～～", "- _ - _"]


def test_content_rule():
    assert not any(has_content(q) for q in JUNK)
    assert all(has_content(q) for q in ("枪", "ab", "v8", "加微", "iphone 13", "98"))
    assert clean_query("  ((((  ") == "" and clean_query(" 加 微 ") == "加 微"


@pytest.mark.parametrize("modes", [("keyword",), ("embedding",), ("graph",), "hybrid"])
@pytest.mark.parametrize("match", ["exact", "bm25"])
def test_junk_exposes_nothing_in_every_mode(indexed_snapshot, modes, match):
    system = SearchSystem(indexed_snapshot, modes=modes, match=match, k=100, candidates=200, build=False)
    for query in JUNK:
        assert len(system.search(query)) == 0, (modes, query)
    assert [len(h) for h in system.batch_search(JUNK)] == [0] * len(JUNK)


def test_junk_earns_nothing_in_the_env(indexed_snapshot):
    env = gym.make("qx_env/Explore-v0", snapshot=indexed_snapshot, modes="hybrid", budget=len(JUNK), split="test",
                   reward="new_toxic+hit+ratio")
    env.reset(seed=0)
    _, reward, *_, info = env.step(JUNK)
    assert reward == 0
    assert all(not q["exposed_ids"] and q["toxic_hits"] == 0 for q in info["queries"])
