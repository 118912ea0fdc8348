"""The environment under adaptive dynamics: Gymnasium compliance, episodes filed by the clock, the same run
for a seed, sellers who answer what the policy's queries take down, and one clear error per bad input."""

from __future__ import annotations

import json

import pytest
from gymnasium.utils.env_checker import check_env

from qx_env.envs import ExploreEnv
from qx_env.errors import QxError

SPLITS = ["train", "dev", "test"]
ADAPTIVE = {"kind": "adaptive", "days": 28}


def _env(snapshot, **kwargs):
    return ExploreEnv(snapshot, k=20, candidates=50, budget=3, dynamics=ADAPTIVE, split=SPLITS, **kwargs)


def test_check_env_passes_under_adaptive_dynamics(campaign_snapshot):
    check_env(_env(campaign_snapshot, observe_results=2), skip_render_check=True)


def _episodes(env, seed: int, count: int) -> list[dict]:
    """``count`` episodes from a seeded reset, each answering with its report's auditor marks."""
    marks = dict(zip(env.reports.column("report_id").to_pylist(), env.reports.column("annotations").to_pylist()))
    rows = []
    _, info = env.reset(seed=seed)
    for _ in range(count):
        _, reward, _, _, step = env.step(marks[info["report_id"]] or ["转让"])
        rows.append({"report": info["report_id"], "reward": reward, "queries": step["queries"],
                     "day": env.clock.platform.day})
        _, info = env.reset()
    return rows


def test_episodes_follow_the_clock_and_repeat_for_a_seed(campaign_snapshot):
    """15 episodes stay within one 28-day run (about 2 reports a day are filed), so the days only go on."""
    first, again = (_episodes(_env(campaign_snapshot), seed=3, count=15) for _ in range(2))
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    days = [row["day"] for row in first]
    assert days == sorted(days) and days[-1] > days[0]  # the platform's days go by as episodes are played


def test_the_policys_takedowns_make_campaigns_reword(campaign_snapshot):
    """A policy that asks for the campaigns' own phrases takes their listings down, and the campaigns reword."""
    env = _env(campaign_snapshot)
    world = env.clock.world
    phrases = sorted({phrase for slots in world.slots for phrase in slots})
    assert phrases, "the world has campaign phrases that can be reworded"
    env.reset(seed=3)
    detections = 0
    for episode in range(40):
        _, _, _, _, step = env.step([phrases[(3 * episode + i) % len(phrases)] for i in range(3)])
        detections += sum(q["new_detections"] for q in step["queries"])
        env.reset()
    assert detections > 0
    events = env.clock.platform.sellers.events
    assert events and all(e["query"] for e in events)
    assert {e["phrase"] for e in events} <= set(phrases)


def test_bad_adaptive_input_is_refused(campaign_snapshot):
    env = _env(campaign_snapshot)
    with pytest.raises(QxError, match="no report_id"):
        env.reset(options={"report_id": env.reports.column("report_id")[0].as_py()})
    with pytest.raises(QxError, match="unknown adaptive dynamics option"):
        ExploreEnv(campaign_snapshot, dynamics={"kind": "adaptive", "speed": 2})
    with pytest.raises(QxError, match="report_rate"):
        ExploreEnv(campaign_snapshot, dynamics={"kind": "adaptive", "report_rate": -0.2})


@pytest.mark.parametrize("dynamics", ["adaptive", ADAPTIVE])
def test_isolated_episodes_refuse_adaptive_dynamics_naming_what_they_take(campaign_snapshot, dynamics):
    """OpenEnv sessions and the TRL SearchEnvironment keep each episode's removals apart: one clear error that
    names the dynamics they take and where adaptive ones run, before any world is built."""
    from qx_env.envs import IsolatedEpisode
    from training import SearchEnvironment

    for make in (lambda: IsolatedEpisode(campaign_snapshot.path, dynamics=dynamics, split=SPLITS),
                 lambda: SearchEnvironment(str(campaign_snapshot.path), dynamics=dynamics, split=SPLITS)):
        with pytest.raises(QxError, match=r"static, removal or delayed dynamics, not adaptive.*ExploreEnv"):
            make()
    assert IsolatedEpisode(campaign_snapshot.path, dynamics="removal", split=SPLITS, build=True).open().env.clock is None
