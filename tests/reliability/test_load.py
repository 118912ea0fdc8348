"""The environment in gymnasium's AsyncVectorEnv: episodes share no state (removals are undone at
every reset, workers do not see each other's), a forked worker is refused with what to do, and the
load benchmark reports steps/s and the memory of every process."""

from __future__ import annotations

import json
from functools import partial

import gymnasium as gym
import numpy as np
import pytest

from benchmarks.load import make_env, vector_env
from qx_env.cli import main


@pytest.fixture(scope="module")
def episode_queries(indexed_snapshot):
    """Three queries for every episode: an auditor's phrase that exposes toxic items, the same again,
    then another one."""
    from qx_env.search import SearchSystem

    system = SearchSystem(indexed_snapshot, k=20, candidates=50)
    phrases = dict.fromkeys(p for row in indexed_snapshot.reports.column("annotations").to_pylist() for p in row)
    found = [p for p in phrases if (indexed_snapshot.labels[system.search(p).positions] == 1).sum() >= 3]
    return [found[0], found[0], found[1]]


def test_episodes_in_async_workers_share_no_state(indexed_snapshot, episode_queries):
    workers, budget = 2, len(episode_queries)
    envs = vector_env(str(indexed_snapshot.path), workers, k=20, candidates=50, budget=budget, dynamics="removal",
                      split=["train", "dev", "test"])
    episodes: list[tuple] = []
    try:
        envs.reset(seed=0)
        step_in_episode = [0] * workers
        current: list[list] = [[] for _ in range(workers)]
        for _ in range(150):
            actions = tuple(episode_queries[step_in_episode[w] % budget] for w in range(workers))
            _, _, terminated, truncated, info = envs.step(actions)
            for w in range(workers):
                if step_in_episode[w] == budget:  # this step was the automatic reset
                    step_in_episode[w] = 0
                    continue
                (query,) = info["queries"][w]
                current[w].append((query["query"], query["toxic_hits"], query["new_detections"]))
                step_in_episode[w] += 1
                if terminated[w] or truncated[w]:
                    episodes.append(tuple(current[w]))
                    current[w] = []
    finally:
        envs.close()
    assert len(episodes) >= 60
    first = episodes[0]
    assert first[0][2] >= 3  # the first query detects (and removes) toxic items
    assert set(episodes) == {first}  # every episode, in either worker, starts from the full snapshot


@pytest.mark.filterwarnings("ignore::UserWarning")  # gymnasium relays the worker's error as warnings too
def test_a_forked_worker_is_refused_with_what_to_do(indexed_snapshot):
    envs = gym.vector.AsyncVectorEnv([partial(make_env, str(indexed_snapshot.path), budget=2)], shared_memory=False,
                                     context="fork")
    try:
        with pytest.raises(Exception, match="does not survive a fork.*spawn"):
            envs.reset(seed=0)
    finally:
        envs.close(terminate=True)


def test_load_benchmark_reports_speed_and_memory_of_every_process(indexed_snapshot, tmp_path):
    assert main(["bench", "load", str(indexed_snapshot.path), "--steps", "200", "--workers", "2", "--samples", "10",
                 "--out", str(tmp_path)]) == 0
    stored = json.loads((tmp_path / "load.json").read_text())
    assert stored["env_steps"] == 200 and stored["env_steps_per_s"] > 0
    assert set(stored["samples"][-1]["rss_mib"]) == {"main", "worker 0", "worker 1"}
    assert np.all([v > 50 for s in stored["samples"] for v in s["rss_mib"].values()])
    assert (tmp_path / "memory.png").stat().st_size > 10_000
