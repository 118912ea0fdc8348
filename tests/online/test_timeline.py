"""The clock: arrivals, campaign lifetimes and report lags at the configured rates, drawn the same for a seed.
Tolerances are 4 standard errors of each rate's estimate (a false alarm about once in 16,000 runs)."""

from __future__ import annotations

import numpy as np
import pytest

from qx_env.errors import QxError
from qx_env.online import OnlineConfig, campaign_members, make_timeline

CAMPAIGNS, SIZE, NORMAL = 300, 6, 6000


@pytest.fixture(scope="module")
def world(snapshot_factory):
    """6,000 normal items and 300 campaigns of 6 toxic listings, each listing reported."""
    texts = [f"item {i}" for i in range(NORMAL + CAMPAIGNS * SIZE)]
    labels = [0] * NORMAL + [1] * (CAMPAIGNS * SIZE)
    clusters = [None] * NORMAL + [f"c{i // SIZE:04d}" for i in range(CAMPAIGNS * SIZE)]
    return snapshot_factory(texts, labels, clusters, language="en")


CONFIG = OnlineConfig(days=70, backlog_share=0.4, campaign_lifetime_days=20.0, report_rate=0.25)


def test_independent_listings_arrive_at_the_configured_rate(world):
    timeline = make_timeline(world, CONFIG, seed=3)
    arrival = timeline.arrival[:NORMAL]
    expected_day0 = CONFIG.backlog_share + (1 - CONFIG.backlog_share) / CONFIG.days
    share = float((arrival == 0).mean())
    assert abs(share - expected_day0) < 4 * np.sqrt(expected_day0 * (1 - expected_day0) / NORMAL)
    later = np.bincount(arrival, minlength=CONFIG.days)[1:]  # arrivals on each day after the first
    rate = NORMAL * (1 - CONFIG.backlog_share) / CONFIG.days
    assert abs(later.mean() - rate) < 4 * np.sqrt(rate / len(later))
    assert arrival.max() < CONFIG.days  # every independent listing arrives within the run


def test_campaign_lifetimes_and_posting_follow_the_configuration(world):
    timeline = make_timeline(world, CONFIG, seed=3)
    lifetime = timeline.lifetime
    assert len(lifetime) == CAMPAIGNS
    mean = CONFIG.campaign_lifetime_days
    assert abs(lifetime.mean() - mean) < 4 * mean / np.sqrt(CAMPAIGNS)  # exponential: sd = mean
    members = campaign_members(world)
    for name, start, life in zip(timeline.campaigns, timeline.start, lifetime):
        days = timeline.arrival[members[name]]
        assert np.all(np.diff(days) >= 0)  # posted in order
        inside = days[(days > 0) & (days < CONFIG.days)]
        assert np.all(inside >= np.floor(start)) and np.all(inside <= start + life)
        assert -life <= start < CONFIG.days


def test_reports_lag_their_listing_geometrically(world):
    timeline = make_timeline(world, CONFIG, seed=3)
    arrival = timeline.arrival[timeline.report_items]
    inside = timeline.report_day < CONFIG.days
    lag = (timeline.report_day - arrival)[inside]
    assert np.all(lag >= 0)
    p = CONFIG.report_rate
    assert abs(lag.mean() - (1 - p) / p) < 4 * np.sqrt((1 - p) / p ** 2 / len(lag)) + 0.5  # + truncation at the end


def test_a_seed_draws_one_timeline(world):
    one, same, other = (make_timeline(world, CONFIG, seed=s) for s in (1, 1, 2))
    assert np.array_equal(one.arrival, same.arrival) and np.array_equal(one.report_day, same.report_day)
    assert not np.array_equal(one.arrival, other.arrival)


@pytest.mark.parametrize("bad", [{"report_rate": -0.1}, {"backlog_share": -0.5}, {"campaign_lifetime_days": -3.0},
                                 {"adapt_rate": 1.5}, {"days": 0}, {"max_variants": 0},
                                 {"account_move_rate": -0.2}])
def test_bad_rates_are_refused_by_name(bad):
    with pytest.raises(QxError, match=next(iter(bad))):
        OnlineConfig(**bad)
