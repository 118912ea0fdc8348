"""The search settings, one value the CLI, the env, the episode servers and qx serve take: the candidates rule,
its checks, its flags (``--modes`` with ``--mode`` as the other spelling) and the system it builds."""

from __future__ import annotations

import argparse

import pytest

from indexes import MODES
from qx_env.adapters.server.config import ServerConfig
from qx_env.errors import QxError
from qx_env.search import DEFAULT_CANDIDATES, SearchSettings, SearchSystem


def test_candidates_default_to_the_larger_of_k_and_a_thousand():
    assert SearchSettings().retrieved == DEFAULT_CANDIDATES == 1000
    assert SearchSettings(k=2500).retrieved == 2500  # a top k larger than the default is still ranked among k
    assert SearchSettings(k=10, candidates=50).retrieved == 50
    assert SearchSettings(modes="hybrid").modes == MODES


@pytest.mark.parametrize(("changes", "message"), [
    ({"k": 0}, "k must be at least 1"),
    ({"k": 100, "candidates": 10}, r"candidates \(10\) must be at least k \(100\)"),
    ({"match": "fuzzy"}, "unknown keyword match 'fuzzy'"),
    ({"modes": "sparse"}, "unknown retrieval mode 'sparse'"),
])
def test_bad_settings_are_refused_in_one_line(changes, message):
    with pytest.raises(QxError, match=message):
        SearchSettings(**changes)


def test_flags_take_either_spelling_of_modes_and_build_the_same_settings():
    parser = argparse.ArgumentParser()
    SearchSettings.add_flags(parser)
    parser.add_argument("--build-missing", action="store_true")
    plural = SearchSettings.from_flags(parser.parse_args(["--modes", "keyword,graph", "-k", "5", "--build-missing"]))
    singular = SearchSettings.from_flags(parser.parse_args(["--mode", "graph,keyword", "-k", "5", "--build-missing"]))
    assert plural == singular == SearchSettings(modes=("keyword", "graph"), k=5, build=True)
    assert hash(plural) == hash(singular)  # one shared search system for both
    assert SearchSettings.from_flags(parser.parse_args([])) == SearchSettings(build=False)


def test_the_server_config_checks_through_the_same_settings():
    assert ServerConfig(k=10).search_settings().retrieved == 1000
    assert ServerConfig(k=10, candidates=20).search_settings().retrieved == 20
    with pytest.raises(QxError, match=r"candidates \(5\) must be at least k \(10\)"):
        ServerConfig(k=10, candidates=5)


def test_a_system_built_from_settings_searches_as_configured(indexed_snapshot):
    settings = SearchSettings(k=3, candidates=7, build=False)
    system = settings.system(indexed_snapshot)
    assert isinstance(system, SearchSystem) and system.settings == settings
    assert (system.k, system.candidates) == (3, 7)
    direct = SearchSystem(indexed_snapshot, k=3, candidates=7, build=False)
    query = indexed_snapshot.texts[int(indexed_snapshot.labels.argmax())][:4]
    assert system.search(query).positions.tolist() == direct.search(query).positions.tolist()
    assert len(system.search(query)) <= 3
