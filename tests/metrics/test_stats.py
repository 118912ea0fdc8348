"""The statistics of a comparison against hand-computed toys and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from qx_env.stats import (
    DOES_NOT_HOLD,
    HOLDS,
    REVERSED,
    UNDECIDED,
    Campaigns,
    adjust,
    benjamini_hochberg,
    between_worlds,
    holm,
    minimal_detectable_difference,
    paired_comparison,
    rate_estimate,
    relative_increment,
    sign_flip_p_value,
    verdict,
)


def test_sign_flip_p_value_by_hand_on_three_campaigns():
    # A hits in every campaign, B in none: of the 8 swap patterns, |difference| = 1 for 2 (none or all
    # swapped) and 1/3 for the other 6
    ones, zeros = np.ones(3), np.zeros(3)
    assert sign_flip_p_value((ones, ones), (zeros, ones)) == pytest.approx(0.25)


def test_sign_flip_equals_scipys_exact_paired_permutation_test():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 2, 10).astype(float), rng.integers(0, 2, 10).astype(float)
    a[:3] = 1
    b[:3] = 0
    ours = sign_flip_p_value((a, np.ones(10)), (b, np.ones(10)))
    theirs = scipy_stats.permutation_test((a, b), lambda x, y: np.mean(x) - np.mean(y), permutation_type="samples",
                                          n_resamples=np.inf, alternative="two-sided").pvalue
    assert ours == pytest.approx(theirs)


def test_sign_flip_by_draws_is_close_to_scipys_on_many_campaigns():
    rng = np.random.default_rng(2)
    a, b = rng.random(60), rng.random(60) + 0.1
    ours = sign_flip_p_value((a, np.ones(60)), (b, np.ones(60)), resamples=20000)
    theirs = scipy_stats.permutation_test((a, b), lambda x, y: np.mean(x) - np.mean(y), permutation_type="samples",
                                          n_resamples=20000, random_state=0).pvalue
    assert ours == pytest.approx(theirs, abs=0.02)  # two Monte Carlo draws of 20,000: sd 0.005 between them


def test_campaign_bootstrap_widens_by_the_campaign_size_when_reports_repeat_their_campaign():
    rng = np.random.default_rng(3)
    outcomes = rng.integers(0, 2, 40).astype(float)
    repeated = np.repeat(outcomes, 10)  # 40 campaigns of 10 identical reports
    clustered = rate_estimate(repeated, np.ones(400), Campaigns.of([f"c{i // 10}" for i in range(400)]))
    naive = rate_estimate(repeated, np.ones(400), Campaigns.of([f"r{i}" for i in range(400)]))
    assert clustered.value == naive.value == pytest.approx(outcomes.mean())
    assert clustered.se / naive.se == pytest.approx(np.sqrt(10), rel=0.2)
    # the campaign bootstrap's error of a mean of campaign totals: sd / sqrt(n), times sqrt((n - 1) / n)
    assert clustered.se == pytest.approx(outcomes.std(ddof=0) / np.sqrt(40), rel=0.1)
    assert clustered.low < clustered.value < clustered.high


def test_a_rate_with_no_spread_has_a_point_interval_and_worlds_are_strata():
    campaigns = Campaigns.of(["a", "b", "a", "c"], worlds=["w1", "w1", "w2", "w2"])
    assert campaigns.count == 4 and campaigns.singletons == 4 and campaigns.reports == 4
    counts = campaigns.resample_counts(50, seed=0)
    for stratum in (0, 1):
        assert (counts[:, campaigns.strata == stratum].sum(axis=1) == 2).all()
    estimate = rate_estimate([1, 2, 3, 4], [2, 4, 6, 8], campaigns)
    assert (estimate.value, estimate.low, estimate.high, estimate.se) == (0.5, 0.5, 0.5, 0.0)


def test_paired_comparison_of_an_arm_with_itself_and_with_a_better_one():
    rng = np.random.default_rng(4)
    campaigns = Campaigns.of([f"c{i // 4}" for i in range(200)])
    hits = rng.integers(0, 2, 200)
    queries = np.full(200, 3)
    same = paired_comparison((hits, queries), (hits, queries), campaigns)
    assert same.difference == 0 and same.p_value == 1.0 and same.se == 0 and same.mdd == 0
    better = paired_comparison((np.minimum(3, hits + 2), queries), (hits, queries), campaigns)
    assert better.difference > 0.5 and better.low > 0 and better.p_value < 0.01
    assert better.campaigns == 50 and better.reports == 200 and better.singletons == 0
    assert better.mdd == pytest.approx(2.8016 * better.se, rel=1e-3)


def test_relative_increment_by_hand_and_against_its_own_campaigns():
    # three campaigns: base detections 2+2, 3, 1 and combined 3+3, 3, 2: (11 - 8) / 8 = 0.375
    campaigns = Campaigns.of(["a", "a", "b", "c"])
    base, combined = [2, 2, 3, 1], [3, 3, 3, 2]
    increment = relative_increment(base, combined, campaigns, rate="detections_increment")
    assert increment.difference == pytest.approx(0.375) and increment.rate == "detections_increment"
    assert increment.b.value == 1.0 and increment.a.value == pytest.approx(1.375)
    # sign flips enumerate the 2^3 swaps of a campaign's base and combined counts: swapping b changes nothing,
    # so 4 of 8 (a and c both kept or both swapped) are as extreme as 0.375
    assert increment.p_value == pytest.approx(4 / 8)
    # resampling campaigns: the interval stays within the campaigns' own increments (0, 0.5, 1)
    assert 0 <= increment.low <= 0.375 <= increment.high <= 1
    nothing = relative_increment(base, base, campaigns)
    assert nothing.difference == 0 and nothing.p_value == 1.0


def test_minimal_detectable_difference_and_adjustments_by_hand():
    assert minimal_detectable_difference(0.01) == pytest.approx(0.028016, abs=1e-6)
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    assert benjamini_hochberg([0.01, 0.04, 0.03]) == [0.03, 0.04, 0.04]
    with pytest.raises(ValueError, match="unknown p-value adjustment"):
        adjust([], "bonferroni")


def test_verdicts():
    campaigns = Campaigns.of([f"c{i}" for i in range(100)])
    rng = np.random.default_rng(5)
    base = rng.integers(0, 2, 100)
    ones = np.ones(100)
    up = paired_comparison((np.ones(100), ones), (base, ones), campaigns)
    assert verdict(up, claimed=0.1) == HOLDS and verdict(up, claimed=-0.1) == REVERSED
    flat = paired_comparison((base, ones), (base[::-1], ones), campaigns)
    assert flat.p_value > 0.05
    assert verdict(flat, claimed=flat.mdd + 0.01) == DOES_NOT_HOLD
    assert verdict(flat, claimed=flat.mdd / 2) == UNDECIDED


def test_between_worlds_is_students_t_over_the_worlds_own_differences():
    """Three worlds of two reports each: each world's difference of ratio-of-sums rates, their unweighted
    mean, and scipy's t-interval of it; one world gives none."""
    worlds = ["w0", "w0", "w1", "w1", "w2", "w2"]
    a = ([1, 1, 2, 0, 1, 0], [2, 2, 2, 2, 2, 2])  # rates 0.5, 0.5, 0.25
    b = ([0, 1, 0, 0, 1, 1], [2, 2, 2, 2, 2, 2])  # rates 0.25, 0.0, 0.5
    spread = between_worlds(a, b, worlds)
    assert spread.per_world == {"w0": 0.25, "w1": 0.5, "w2": -0.25}
    low, high = scipy_stats.t.interval(0.95, 2, loc=np.mean([0.25, 0.5, -0.25]),
                                       scale=scipy_stats.sem([0.25, 0.5, -0.25]))
    assert spread.mean == pytest.approx(1 / 6, abs=1e-6)
    assert (spread.low, spread.high) == (pytest.approx(low, abs=1e-6), pytest.approx(high, abs=1e-6))
    assert between_worlds(a, b, ["w0"] * 6) is None
