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


def _env(snapshot, budget: int = 3, **kwargs):
    return ExploreEnv(snapshot, k=20, candidates=50, budget=budget, dynamics=ADAPTIVE, split=SPLITS, **kwargs)


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


def _isolated_episodes(episode, seed: int, count: int, marks: dict) -> list[dict]:
    """As :func:`_episodes`, through an :class:`IsolatedEpisode`."""
    rows = []
    _, info = episode.reset(seed=seed)
    for _ in range(count):
        _, reward, _, _, step = episode.step(marks[info["report_id"]] or ["转让"])
        rows.append({"report": info["report_id"], "reward": reward, "queries": step["queries"],
                     "day": episode.env.clock.platform.day})
        _, info = episode.reset()
    return rows


def test_an_isolated_episode_is_a_platform_run_of_its_own(campaign_snapshot):
    """OpenEnv sessions and the TRL SearchEnvironment: an isolated episode under adaptive dynamics plays the same
    run as ExploreEnv, and two of them interleaved over one shared search system do not disturb each other."""
    from qx_env.envs import IsolatedEpisode

    def isolated():
        return IsolatedEpisode(campaign_snapshot.path, k=20, candidates=50, budget=3, dynamics=ADAPTIVE,
                               split=SPLITS)

    env = _env(campaign_snapshot)
    marks = dict(zip(env.reports.column("report_id").to_pylist(), env.reports.column("annotations").to_pylist()))
    alone = _episodes(env, seed=3, count=12)
    assert _isolated_episodes(isolated(), 3, 12, marks) == alone
    one, other = isolated(), isolated()
    assert one.env.clock is not other.env.clock
    _, info = one.reset(seed=3)
    other.reset(seed=5)
    interleaved = []
    for _ in range(12):
        _, reward, _, _, step = one.step(marks[info["report_id"]] or ["转让"])
        interleaved.append({"report": info["report_id"], "reward": reward, "queries": step["queries"],
                            "day": one.env.clock.platform.day})
        other.step(["转让", "微信"])  # the other run takes its own listings down meanwhile
        other.reset()
        _, info = one.reset()
    assert interleaved == alone


def test_the_trl_environment_plays_the_reports_its_run_files(campaign_snapshot):
    """Under adaptive dynamics a SearchEnvironment is one platform run: each reset is the next report its run
    files (the row's report id is not used), the same reports ExploreEnv's run of that seed files."""
    from qx_env.adapters.trl import REPORT_PREFIXES
    from training import SearchEnvironment

    environment = SearchEnvironment(str(campaign_snapshot.path), k=20, candidates=50, budget=2, dynamics=ADAPTIVE,
                                    split=SPLITS, observe_results=0, seed=3)
    env = _env(campaign_snapshot, budget=2)
    observation, _ = env.reset(seed=3)
    for _ in range(6):
        assert environment.reset(prompt="", report_id="not used") == REPORT_PREFIXES["zh"] + observation["report"]
        for _ in range(2):
            assert "items exposed" in environment.search("转让")
            env.step("转让")
        observation, _ = env.reset()
