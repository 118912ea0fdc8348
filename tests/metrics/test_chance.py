"""The chance line and precision beside every hit rate."""

from __future__ import annotations

import numpy as np
from scipy.stats import hypergeom

from qx_env import SearchSystem
from qx_env.metrics import chance_effective, evaluate_queries


def test_chance_is_the_hypergeometric_probability_of_at_least_one_toxic_item():
    live, toxic = 500, 7
    n = np.array([0, 1, 10, 100, 493, 494, 500])
    expected = 1 - hypergeom(live, toxic, n).pmf(0)
    np.testing.assert_allclose(chance_effective(n, live, toxic), expected, atol=1e-9)
    assert chance_effective([100], 10**6, 10**4)[0] == np.float64(chance_effective([100], 10**6, 10**4)[0])
    np.testing.assert_allclose(chance_effective([100], 10**7, 10**5), 1 - 0.99**100, rtol=1e-3)
    draws = np.random.default_rng(0).random((20000, live)).argsort(axis=1)[:, :10] < toxic
    assert abs(draws.any(axis=1).mean() - chance_effective([10], live, toxic)[0]) < 0.01


def test_evaluation_reports_precision_base_rate_and_chance(indexed_snapshot):
    system = SearchSystem(indexed_snapshot, modes=("keyword",), match="bm25", k=100, candidates=200, build=False)
    reports = indexed_snapshot.reports.to_pylist()
    queries = {r["report_id"]: r["annotations"] for r in reports}
    metrics = evaluate_queries(system, queries).metrics
    labels = indexed_snapshot.labels
    assert metrics.exposed > 0 and metrics.precision == metrics.hit_at_k / metrics.exposed
    live = len(labels) - len(reports)
    assert metrics.base_rate == (int(labels.sum()) - len(reports)) / live
    assert 0 < metrics.chance_hit_rate < 1
    row = metrics.as_dict()
    assert {"precision", "exposed", "base_rate", "chance_hit_rate"} <= set(row)
