"""Weeks online over a real Lucene index: today's day when nothing moves, sellers who reword what was hit
and only that, the same bytes for a seed, and one clear error for each bad input."""

from __future__ import annotations

import numpy as np
import pytest

from indexes import build_indexes
from qx_env.errors import QxError
from qx_env.metrics import simulate_day
from qx_env.online import OnlineConfig, Timeline, build_world, make_timeline, simulate_weeks
from qx_env.search import SearchSystem

SPLITS = ("train", "dev", "test")


@pytest.fixture(scope="module")
def adaptive_run(adaptive_world, campaign_snapshot):
    world, system = adaptive_world
    timeline = make_timeline(campaign_snapshot, world.config, seed=0)
    return timeline, simulate_weeks(world, timeline, system, split=SPLITS, seed=0)


def test_without_adaptation_one_day_at_once_is_todays_simulate_day(campaign_snapshot):
    world = build_world(campaign_snapshot, OnlineConfig(days=1, adapt=False))
    assert world.snapshot is campaign_snapshot  # nothing to index again
    build_indexes(campaign_snapshot, modes=("keyword",), progress=False)
    system = SearchSystem(campaign_snapshot, modes="keyword", build=False)
    reports = campaign_snapshot.reports
    ids = reports.column("report_id").to_pylist()
    order = [ids[i] for i in np.random.default_rng(4).permutation(len(ids))]
    marks = dict(zip(ids, reports.column("annotations").to_pylist()))
    weeks = simulate_weeks(world, Timeline.at_once(campaign_snapshot, order), system, split=SPLITS, seed=0)
    day = simulate_day(system, {"human": {r: marks[r] for r in order}}, "removal", seed=0)
    assert [{k: r[k] for k in ("report_id", "detections", "hit_queries", "queries")} for r in weeks.per_report] \
        == day.per_report
    assert weeks.detections == day.detections and weeks.hit_queries == day.hit_queries > 0
    assert weeks.weeks[0]["by_source"] == day.by_source


def test_a_hit_campaign_posts_a_variant_of_the_hit_phrase_and_not_the_phrase(adaptive_world, adaptive_run):
    world, _ = adaptive_world
    timeline, result = adaptive_run
    assert result.rewordings  # queries took listings down and their campaigns answered
    texts = world.snapshot.texts
    checked = 0
    for event in result.rewordings:
        campaign, phrase, generation = event["campaign"], event["phrase"], event["generation"]
        retired = world.lineage.wording(campaign, phrase, generation - 1)
        later = [e["day"] for e in result.rewordings
                 if (e["campaign"], e["phrase"]) == (campaign, phrase) and e["day"] > event["day"]]
        until = min(later, default=timeline.days)
        for p in range(len(world.base)):
            if world.campaign_of[p] != campaign or phrase not in world.slots[p]:
                continue
            if event["day"] <= timeline.arrival[p] < until:
                text = texts[result.posted[p]]
                assert event["wording"] in text and retired not in text, (event, text)
                assert event["wording"] in world.lineage.variants[campaign, phrase]  # the lineage keeps it
                checked += 1
    assert checked > 0


def test_a_campaign_nothing_hits_keeps_its_wording(adaptive_world, adaptive_run):
    world, _ = adaptive_world
    timeline, result = adaptive_run
    reworded = {e["campaign"] for e in result.rewordings}
    unhit = [c for c in timeline.campaigns if c not in reworded]
    assert unhit  # the run leaves some campaign alone
    posted = [p for p in range(len(world.base)) if world.campaign_of[p] in unhit and result.posted[p] >= 0]
    assert posted and all(result.posted[p] == p for p in posted)  # every listing in its snapshot wording
    base = len(world.base)
    # while hit campaigns did post new wordings
    assert any(world.campaign_of[p] in reworded and result.posted[p] >= base for p in range(base))


def _versions_at(world, campaign: str, phrase: str, generation: int) -> set[int]:
    """World positions of the campaign's listing versions that write ``phrase`` at ``generation``."""
    return {x for p, versions in world.versions.items() if world.campaign_of[p] == campaign and phrase in world.slots[p]
            for key, x in versions.items() if key[world.slots[p].index(phrase)] == generation}


def test_a_variant_is_found_by_its_own_wording_and_not_by_the_retired_phrase(adaptive_world, adaptive_run):
    world, system = adaptive_world
    _, result = adaptive_run
    system.restore()  # every version live, dormant ones too
    try:
        checked = 0
        for event in result.rewordings:
            campaign, phrase, generation = event["campaign"], event["phrase"], event["generation"]
            retired = world.lineage.wording(campaign, phrase, generation - 1)
            slot_versions = _versions_at(world, campaign, phrase, generation)
            if not slot_versions:
                continue
            found_by_variant = set(system.search(event["wording"]).positions.tolist())
            found_by_retired = set(system.search(retired).positions.tolist())
            assert found_by_variant & slot_versions
            assert not found_by_retired & slot_versions, (retired, event["wording"])
            checked += 1
        assert checked > 0
    finally:
        system.restore()


def test_the_same_seed_gives_the_same_bytes(adaptive_world, campaign_snapshot, adaptive_run):
    world, system = adaptive_world
    _, first = adaptive_run
    again = simulate_weeks(world, make_timeline(campaign_snapshot, world.config, seed=0), system, split=SPLITS, seed=0)
    assert again.to_json() == first.to_json()
    other = simulate_weeks(world, make_timeline(campaign_snapshot, world.config, seed=1), system, split=SPLITS, seed=1)
    assert other.to_json() != first.to_json()


def test_weeks_report_the_clock(adaptive_run):
    _, result = adaptive_run
    assert [w["week"] for w in result.weeks] == [1, 2, 3, 4]
    assert result.weeks[0]["drift"] is None
    assert all(0 <= w["drift"] <= 1 for w in result.weeks[1:] if w["drift_queries"])
    assert sum(w["reports"] for w in result.weeks) == len(result.per_report)
    assert sum(w["detections"] for w in result.weeks) == sum(r["detections"] for r in result.per_report)
    assert all(r["campaign"] for r in result.per_report)


def test_the_clock_cannot_run_past_its_timeline(adaptive_world, campaign_snapshot):
    world, system = adaptive_world
    timeline = make_timeline(campaign_snapshot, world.config, seed=0)
    with pytest.raises(QxError, match="past the timeline"):
        simulate_weeks(world, timeline, system, days=timeline.days + 1)


def test_adaptation_needs_takedowns(adaptive_world, campaign_snapshot):
    world, system = adaptive_world
    with pytest.raises(QxError, match="static dynamics"):
        simulate_weeks(world, make_timeline(campaign_snapshot, world.config, seed=0), system, dynamics="static")


def test_a_world_with_adaptation_needs_a_directory(campaign_snapshot):
    with pytest.raises(QxError, match="directory"):
        build_world(campaign_snapshot, OnlineConfig())
