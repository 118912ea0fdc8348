"""Every reward term on hand-checked steps, and their combination."""

from __future__ import annotations

import numpy as np
import pytest

from qx_env import QxError
from qx_env.rewards import REWARDS, Reward
from qx_env.types import QueryOutcome, StepOutcome


def _q(exposed, toxic, new):
    a = lambda xs: np.array(xs, dtype=np.int64)
    return QueryOutcome("q", a(exposed), a(toxic), a(toxic), a(new), np.ones(len(exposed), np.uint8))


STEP = StepOutcome((_q(range(10), [1, 2, 3], [1, 2]), _q(range(4), [], []), _q([], [], [])), k=10)


@pytest.mark.parametrize(("name", "expected"), [
    ("new_toxic", 2.0),  # two items detected for the first time
    ("hit", 1.0),  # one query of three had a toxic item
    ("ratio", (3 / 10 + 0 + 0) / 3),  # mean toxic ratio; a query exposing nothing has ratio 0
    ("pooled_ratio", 3 / 14),  # toxic / exposed over all three queries, not the mean of their ratios
    ("distinct_toxic_log", np.log1p(3)),
    ("query_cost", -3.0),
    ("exposure_cost", -((10 - 3) / 10 + 4 / 10)),  # normal items shown, in units of k
    ("format", 0.0),
])
def test_each_term(name, expected):
    assert REWARDS[name].compute(STEP) == pytest.approx(expected)


def test_format_penalty_and_empty_step():
    bad = StepOutcome((), k=10, well_formed=False)
    assert REWARDS["format"].compute(bad) == -1
    assert all(REWARDS[n].compute(bad) == 0 for n in ("new_toxic", "hit", "ratio", "pooled_ratio", "distinct_toxic_log",
                                                  "query_cost", "exposure_cost"))


def test_distinct_toxic_counts_an_item_found_twice_once():
    twice = StepOutcome((_q(range(5), [1, 2], [1, 2]), _q(range(3), [1, 2], [])), k=10)
    assert REWARDS["distinct_toxic_log"].compute(twice) == pytest.approx(np.log1p(2))
    assert REWARDS["pooled_ratio"].compute(twice) == pytest.approx(4 / 8)


def test_weighted_combination_reports_every_component():
    reward = Reward.parse("new_toxic + 0.5*query_cost+2*hit")
    total, parts = reward(STEP)
    assert parts == {"new_toxic": 2.0, "query_cost": -1.5, "hit": 2.0}
    assert total == pytest.approx(2.5)
    assert Reward.parse({"ratio": 1}).weights == (("ratio", 1.0),)
    with pytest.raises(QxError, match="unknown reward term"):
        Reward.parse("clicks")
    with pytest.raises(QxError, match="cannot read reward term"):
        Reward.parse("x*hit")


@pytest.mark.parametrize(("spec", "message"), [
    ("new_toxic+*2", r"cannot read reward term '\*2' of 'new_toxic\+\*2' \(a syntax error\)"),
    ("new_toxic++hit", "cannot read reward term '' of"),
    ("new_toxic*2", "cannot read reward term 'new_toxic\\*2'"),
    ("", "the reward is empty"),
    ({"new_toxic": "x"}, "the weight of reward term 'new_toxic' must be a finite number, got 'x'"),
    ({"hit": float("nan")}, "the weight of reward term 'hit' must be a finite number"),
    ({"hit": True}, "the weight of reward term 'hit' must be a finite number"),
    (3, "a reward is a string"),
])
def test_bad_reward_specs_name_the_problem(spec, message):
    with pytest.raises(QxError, match=message):
        Reward.parse(spec)


def test_weights_of_any_real_type_and_repeated_terms():
    assert Reward.parse({"hit": np.int64(2)}).weights == (("hit", 2.0),)
    assert Reward.parse("hit+0.5*hit+1e-1*query_cost").weights == (("hit", 1.5), ("query_cost", 0.1))
