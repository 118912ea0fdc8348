"""Sellers who move to new accounts as they reword: new seller ids and contact handles on the moved versions,
none at the default rate, and the graph index no longer linking a moved listing to its old account."""

from __future__ import annotations

import random

import pytest

from indexes import contact_handles, index_class
from qx_env.online import OnlineConfig, build_world
from qx_env.online._accounts import renewed_handle


@pytest.fixture(scope="module")
def moving_world(campaign_snapshot, tmp_path_factory):
    """The small world where every rewording comes with a new account."""
    return build_world(campaign_snapshot, OnlineConfig(days=28, account_move_rate=1.0),
                       tmp_path_factory.mktemp("online") / "moving")


def _moved_versions(world):
    """(base position, version position) of each dormant version posted from a new account."""
    return [(p, x) for p, versions in world.versions.items() for g, x in versions.items() if world.account(p, g)]


def test_a_moved_version_has_a_new_seller_and_new_handles(moving_world):
    sellers = moving_world.snapshot.items.column("seller_id").to_pylist()
    texts = moving_world.snapshot.texts
    moved = _moved_versions(moving_world)
    assert moved
    with_handles = 0
    for p, x in moved:
        assert sellers[x] != sellers[p] and sellers[x].startswith(f"{sellers[p]}~a")
        old = set(contact_handles(texts[p]))
        with_handles += bool(old)
        assert not old & set(contact_handles(texts[x]))
        assert len(contact_handles(texts[x])) == len(old)
    assert with_handles  # the campaigns give readable handles, so the check above checked something


def test_at_the_default_rate_nobody_moves(adaptive_world):
    world, _ = adaptive_world
    sellers = world.snapshot.items.column("seller_id").to_pylist()
    texts = world.snapshot.texts
    assert not _moved_versions(world) and not world.accounts.as_records()
    for p, versions in world.versions.items():
        for x in versions.values():
            assert sellers[x] == sellers[p] and contact_handles(texts[x]) == contact_handles(texts[p])


def test_the_graph_no_longer_links_a_moved_listing_to_its_old_account(moving_world):
    graph = index_class("graph").build(moving_world.snapshot, progress=False).to_networkx()
    sellers = moving_world.snapshot.items.column("seller_id").to_pylist()
    texts = moving_world.snapshot.texts
    for p, x in _moved_versions(moving_world)[:50]:
        old = {f"seller:{sellers[p]}"} | {f"handle:{h}" for h in contact_handles(texts[p])}
        neighbours = set(graph.neighbors(x))
        assert not old & neighbours
        assert old & set(graph.neighbors(p)) or f"seller:{sellers[p]}" not in graph  # an entity of one item is dropped


def test_an_auditor_mark_on_a_handle_follows_the_account(moving_world):
    texts = moving_world.base.texts
    checked = 0
    for p, versions in moving_world.versions.items():
        handles = contact_handles(texts[p])
        raw = [h for h in handles if h in texts[p]]
        for g, x in versions.items():
            if raw and moving_world.account(p, g):
                marked = moving_world.marks(p, g, raw[:1])
                assert marked[0] != raw[0] and marked[0] in moving_world.snapshot.texts[x]
                checked += 1
    assert checked


def test_the_same_seed_moves_the_same_campaigns(campaign_snapshot, moving_world, tmp_path):
    again = build_world(campaign_snapshot, OnlineConfig(days=28, account_move_rate=1.0), tmp_path / "again")
    assert again.accounts == moving_world.accounts
    assert again.snapshot.fingerprint == moving_world.snapshot.fingerprint


def test_a_moving_world_is_a_world_of_its_own(moving_world, adaptive_world):
    """A world saved without moves is not reused for one with them (their recipes differ)."""
    assert moving_world.snapshot.meta.generator["recipe"] != adaptive_world[0].snapshot.meta.generator["recipe"]


@pytest.mark.parametrize("handle", ["jakh55927031", "2968993533", "shop.example.com"])
def test_a_renewed_handle_is_a_handle_and_not_the_old_one(handle):
    new = renewed_handle(handle, random.Random(0))
    assert new != handle and contact_handles(new) and len(new) >= len(handle)
