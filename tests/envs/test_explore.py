"""The exploration environment: Gymnasium compliance, determinism, dynamics, rewards, bad input."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import qx_env  # noqa: F401  (registers the environment)
from qx_env import QxError
from qx_env.envs import ExploreEnv
from qx_env.parsers import format_answer


def _good_phrases(snapshot):
    rows = snapshot.reports.select(["report_id", "annotations", "annotation_kinds"]).to_pylist()
    return {r["report_id"]: [p for p, k in zip(r["annotations"], r["annotation_kinds"]) if k == "good"] for r in rows}


@pytest.fixture(scope="module")
def phrases(indexed_snapshot):
    return _good_phrases(indexed_snapshot)


@pytest.fixture(scope="module")
def effective(indexed_snapshot, phrases):
    """A (report id, query) whose query exposes toxic items other than the reported ones."""
    env = ExploreEnv(indexed_snapshot, k=20, candidates=50, budget=1, split=["train", "dev", "test"])
    for report, queries in phrases.items():
        for query in queries:
            env.reset(options={"report_id": report})
            if env.step(query)[4]["queries"][0]["toxic_hits"] > 0:
                return report, query
    raise AssertionError("no effective annotated phrase in the test snapshot")


def _env(snapshot, **kwargs):
    kwargs.setdefault("k", 20)
    kwargs.setdefault("candidates", 50)
    return ExploreEnv(snapshot, **kwargs)


@pytest.mark.parametrize("dynamics", ["static", "removal"])
def test_check_env_passes(indexed_snapshot, dynamics):
    env = gym.make("qx_env/Explore-v0", snapshot=indexed_snapshot, modes=("keyword",), k=20, candidates=50,
                   budget=3, dynamics=dynamics, observe_results=2, split=["train", "dev", "test"])
    check_env(env.unwrapped, skip_render_check=True)


def test_info_repeats_exactly_and_time_lives_in_the_wrapper(indexed_snapshot, phrases):
    from qx_env.envs import RecordStepTime

    infos = []
    for _ in range(2):
        env = RecordStepTime(_env(indexed_snapshot, budget=2, split="train"))
        _, info = env.reset(seed=3)
        query = (phrases[info["report_id"]] or ["转让"])[0]
        *_, first = env.step(query)
        *_, second = env.step(["转让", query])
        assert 0 < first["step_ms"] <= first["episode_ms"] < second["episode_ms"]
        assert second["episode_ms"] == pytest.approx(first["step_ms"] + second["step_ms"])
        infos.append([{k: v for k, v in i.items() if k not in ("step_ms", "episode_ms")} for i in (first, second)])
    assert json.dumps(infos[0], sort_keys=True, default=str) == json.dumps(infos[1], sort_keys=True, default=str)
    assert "latency_ms" not in json.dumps(infos[0])


def test_same_seed_same_episode(indexed_snapshot, phrases):
    runs = []
    for _ in range(2):
        env = _env(indexed_snapshot, dynamics={"kind": "removal", "recall": 0.7}, budget=4, split="train")
        trace = []
        for episode in range(3):
            _, info = env.reset(seed=5) if episode == 0 else env.reset()
            query = (phrases[info["report_id"]] or ["转让"])[0]
            _, reward, *_, step_info = env.step([query, "转让"])
            trace.append((info["report_id"], reward, [q["exposed_ids"] for q in step_info["queries"]]))
        runs.append(trace)
    assert runs[0] == runs[1]
    env = _env(indexed_snapshot, split="train")
    first = [env.reset(seed=5)[1]["report_id"]] + [env.reset()[1]["report_id"] for _ in range(4)]
    again = [env.reset(seed=6)[1]["report_id"]] + [env.reset()[1]["report_id"] for _ in range(4)]
    assert first != again


def test_removal_visible_next_step_and_undone_by_reset(indexed_snapshot, effective):
    env = _env(indexed_snapshot, dynamics="removal", budget=3, split=["train", "dev", "test"])
    report, query = effective
    env.reset(options={"report_id": report})
    _, first_reward, _, _, info = env.step(query)
    first = info["queries"][0]
    assert first["toxic_hits"] > 0 and first_reward == first["new_detections"] > 0
    _, second_reward, _, _, info = env.step(query)
    second = info["queries"][0]
    assert second["toxic_hits"] == 0 and second_reward == 0  # all detected items were removed
    assert first["toxic_ids"] and not set(first["toxic_ids"]) & set(second["exposed_ids"])
    env.reset(options={"report_id": report})
    _, again, _, _, info = env.step(query)
    assert info["queries"][0]["exposed_ids"] == first["exposed_ids"] and again == first_reward


def test_static_keeps_items_and_counts_new_detections_once(indexed_snapshot, effective):
    env = _env(indexed_snapshot, dynamics="static", budget=3, split=["train", "dev", "test"])
    report, query = effective
    env.reset(options={"report_id": report})
    _, r1, _, _, i1 = env.step(query)
    _, r2, _, _, i2 = env.step(query)
    assert i1["queries"][0]["exposed_ids"] == i2["queries"][0]["exposed_ids"]
    assert r1 > 0 and r2 == 0  # same items again: nothing new
    assert i2["totals"]["toxic_hits"] == 2 * i1["queries"][0]["toxic_hits"]
    metrics = env.episode_metrics()
    assert (metrics.queries, metrics.hit_at_k) == (2, 2 * i1["queries"][0]["toxic_hits"])
    assert metrics.distinct_hits == i1["queries"][0]["toxic_hits"] and metrics.hit_rate == 1.0


def test_delayed_removal_waits_n_steps(indexed_snapshot, effective):
    env = _env(indexed_snapshot, dynamics={"kind": "delayed", "delay": 2}, budget=4, split=["train", "dev", "test"])
    report, query = effective
    env.reset(options={"report_id": report})
    hits = [env.step(query)[4]["queries"][0]["toxic_hits"] for _ in range(3)]
    assert hits[0] == hits[1] > 0 and hits[2] == 0


def test_audit_recall_misses_some(indexed_snapshot, phrases):
    env = _env(indexed_snapshot, dynamics={"kind": "removal", "recall": 0.5}, budget=40, split=["train", "dev", "test"])
    env.reset(seed=0)
    found = caught = 0
    for queries in phrases.values():
        for query in queries:
            info = env.step(query)[4]
            if not info["queries"]:
                continue
            found += info["queries"][0]["toxic_hits"]
            caught += info["queries"][0]["new_detections"]
            if env._done:
                env.reset()
    assert found > 20 and 0.25 < caught / found < 0.8


def test_persistent_day_keeps_removals_across_episodes(indexed_snapshot, effective):
    env = _env(indexed_snapshot, dynamics="removal", persist=True, budget=2, split=["train", "dev", "test"])
    report, query = effective
    env.reset(options={"report_id": report})
    assert env.step(query)[1] > 0
    env.reset(options={"report_id": report})
    assert env.step(query)[4]["queries"][0]["toxic_hits"] == 0


def test_reposting_brings_back_held_variants(indexed_snapshot, phrases):
    env = _env(indexed_snapshot, dynamics={"kind": "removal", "repost_rate": 1.0}, budget=40,
               split=["train", "dev", "test"])
    env.reset(seed=0)
    held = int((~env.system.alive).sum())
    assert held > 0  # later campaign variants start held back
    for queries in phrases.values():
        for query in queries:
            if env._done:
                env.reset()
            env.step(query)
    assert env.audit.detected.sum() > 0
    revived = held - int((~env.system.alive & ~env.audit.detected).sum())
    assert revived > 0


def test_model_answers_lists_and_budget(indexed_snapshot, effective):
    env = _env(indexed_snapshot, budget=3, reward="new_toxic+0.5*format", split=["train", "dev", "test"])
    report, query = effective
    obs, _ = env.reset(options={"report_id": report})
    assert obs["budget"] == 3
    obs, _, terminated, _, info = env.step(format_answer([query, "转让"], "zh"))
    assert [q["query"] for q in info["queries"]] == [query, "转让"] and info["well_formed"]
    assert obs["budget"] == 1 and not terminated
    assert [h["query"] for h in obs["history"]] == [query, "转让"]
    obs, _, terminated, _, info = env.step([f"q{i}" for i in range(1000)])
    assert terminated and len(info["queries"]) == 1 and info["dropped_queries"] == 999
    with pytest.raises(QxError, match="episode is over"):
        env.step("x")


def test_malformed_answer_gets_the_format_penalty(indexed_snapshot):
    env = _env(indexed_snapshot, budget=2, reward={"new_toxic": 1, "format": 2}, action_format="answer",
               split=["train", "dev", "test"])
    env.reset(seed=0)
    _, reward, _, _, info = env.step("no prefix here, just words")
    assert reward == -2 and info["reward_components"]["format"] == -2 and info["queries"] == []
    assert not info["well_formed"]


def test_bad_input(indexed_snapshot):
    with pytest.raises(QxError, match="budget must be at least 1"):
        _env(indexed_snapshot, budget=0)
    with pytest.raises(QxError, match="unknown reward term"):
        _env(indexed_snapshot, reward="speed")
    with pytest.raises(QxError, match="unknown dynamics"):
        _env(indexed_snapshot, dynamics="chaos")
    env = _env(indexed_snapshot, split=["train", "dev", "test"])
    with pytest.raises(QxError, match="unknown report id"):
        env.reset(options={"report_id": "nope"})
    env.reset(seed=0)
    for action in (42, None, [1, 2], {"q": 1}, b"bytes"):
        with pytest.raises(QxError, match="an action is a query string"):
            env.step(action)
    _, reward, _, _, info = env.step([])
    assert reward == 0 and info["queries"] == []
    _, reward, _, _, info = env.step("   ")
    assert reward == 0 and info["queries"] == []


def test_observed_results_are_the_top_exposed_texts(indexed_snapshot, effective):
    env = _env(indexed_snapshot, observe_results=3, split=["train", "dev", "test"])
    report, query = effective
    env.reset(options={"report_id": report})
    obs, *_, info = env.step(query)
    exposed = info["queries"][0]["exposed_ids"][:3]
    texts = indexed_snapshot.texts
    assert list(obs["results"]) == [texts[indexed_snapshot.position_of[i]] for i in exposed]
    assert env.observation_space.contains(obs)


def test_vector_envs(indexed_snapshot):
    make = lambda: _env(indexed_snapshot, budget=2, split=["train", "dev", "test"])
    envs = gym.vector.SyncVectorEnv([make, make])
    obs, _ = envs.reset(seed=3)
    assert len(obs["report"]) == 2
    obs, rewards, *_ = envs.step(("转让", "毕业"))
    assert rewards.shape == (2,) and np.all(obs["budget"] == 1)
    envs.close()


def _spawned_env(path):
    return ExploreEnv(path, k=20, candidates=50, budget=2, split=["train", "dev", "test"])


def test_async_vector_env_in_spawned_workers(indexed_snapshot):
    from functools import partial

    make = partial(_spawned_env, str(indexed_snapshot.path))
    envs = gym.vector.AsyncVectorEnv([make, make], shared_memory=False, context="spawn")
    try:
        obs, _ = envs.reset(seed=3)
        sync = gym.vector.SyncVectorEnv([make, make])
        sync_obs, _ = sync.reset(seed=3)
        assert list(obs["report"]) == list(sync_obs["report"])
        _, rewards, *_ = envs.step(("转让", "毕业"))
        _, sync_rewards, *_ = sync.step(("转让", "毕业"))
        np.testing.assert_array_equal(rewards, sync_rewards)
        sync.close()
    finally:
        envs.close()


def test_misuse_names_the_problem(indexed_snapshot):
    env = _env(indexed_snapshot, split=["train", "dev", "test"])
    with pytest.raises(QxError, match=r"no episode has started: call reset\(\) before the first step"):
        env.step("转让")
    with pytest.raises(QxError, match=r"unknown reset option\(s\) 'reportid'; valid: report_id"):
        env.reset(options={"reportid": "r000000"})
    env.reset(seed=0)
    with pytest.raises(QxError, match=r"element 1 of the list is 5 \(int\)"):
        env.step(["转让", 5])


@pytest.mark.parametrize("junk", ["\x00", "\x1b[D", "\x00\x07 \t", "!!!"])
def test_a_query_without_content_is_the_empty_query(indexed_snapshot, junk):
    env = _env(indexed_snapshot, budget=2, reward="new_toxic+query_cost", split=["train", "dev", "test"])
    outcomes = []
    for action in ("", junk, [junk, "  "], format_answer([junk], "zh")):
        env.reset(seed=0)
        obs, reward, terminated, _, info = env.step(action)
        outcomes.append((obs["budget"], reward, terminated, info["queries"], obs["history"]))
    assert all(o == (2, 0.0, False, [], ()) for o in outcomes), outcomes
    env.reset(seed=0)
    obs, _, _, _, info = env.step(["转让\x00", "转让", " 转让 "])  # one query once its control characters go
    assert [q["query"] for q in info["queries"]] == ["转让"] and obs["budget"] == 1
