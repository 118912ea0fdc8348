"""A small world of several campaigns, its keyword index, and the same world with sellers who adapt."""

from __future__ import annotations

import pytest

from qx_env.corpus import SynthConfig, synthesize


@pytest.fixture(scope="module")
def campaign_snapshot(tmp_path_factory):
    """1,500 synthetic zh items at 8% toxic in campaigns of about 15 (seed 5): six campaigns, 72 reports."""
    from qx_env import Snapshot

    config = SynthConfig(language="zh", items=1500, toxic_share=0.08, mean_campaign_size=15, seed=5)
    return Snapshot.load(synthesize(config, progress=False).save(tmp_path_factory.mktemp("online") / "base"))


@pytest.fixture(scope="module")
def adaptive_world(campaign_snapshot, tmp_path_factory):
    """The world of 28 days with adapting sellers (dormant versions written beside the base) and its keyword
    search system (exact matching)."""
    from indexes import build_indexes
    from qx_env.online import OnlineConfig, build_world
    from qx_env.search import SearchSystem

    world = build_world(campaign_snapshot, OnlineConfig(days=28), tmp_path_factory.mktemp("online") / "world")
    build_indexes(world.snapshot, modes=("keyword",), progress=False)
    return world, SearchSystem(world.snapshot, modes="keyword", build=False)
