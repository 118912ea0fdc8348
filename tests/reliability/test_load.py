"""The environment in gymnasium's AsyncVectorEnv: episodes share no state (removals are undone at
every reset, workers do not see each other's), a forked worker is refused with what to do, memory
stays flat over many steps (no leak across episodes or JVM references), and the load benchmark
reports steps/s and the memory of every process."""

from __future__ import annotations

import gc
import itertools
import json
import math
import tracemalloc
from functools import partial

import gymnasium as gym
import numpy as np
import pytest

from benchmarks.load import make_env, memory_summary, vector_env, workload
from qx_env.cli import main


@pytest.fixture(scope="module")
def episode_queries(indexed_snapshot):
    """Three queries for every episode: an auditor's phrase that exposes toxic items, the same again,
    then another one."""
    from qx_env.envs import ExploreEnv

    # chosen by what the env itself detects (items already reported are gone from the start)
    env = ExploreEnv(indexed_snapshot, k=20, candidates=50, budget=1, dynamics="removal", split=["train", "dev", "test"])
    phrases = dict.fromkeys(p for row in indexed_snapshot.reports.column("annotations").to_pylist() for p in row)

    def detections(phrase: str) -> int:
        env.reset(seed=0)
        return env.step(phrase)[4]["queries"][0]["new_detections"]

    found = [p for p in itertools.islice(phrases, 200) if detections(p) >= 3][:2]
    assert len(found) == 2, "the fixture snapshot has too few phrases that detect 3 toxic items"
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


KIB = 1024
#: Steps measured after the warm-up; a leak of one step's results per step adds this many copies.
FLAT_STEPS = 200
#: The JVM heap (used, after a full collection) may move by this much over the measured steps; it
#: moved by under 5 KiB in trial runs, and a leaked Lucene result page (100 hits, about 3 KiB) per
#: step would add about 600 KiB.
JVM_SLACK = 512 * KIB


def _step_through(env, queries: list[str], steps: int, start: int, kept: list | None = None) -> int:
    """``steps`` steps with the workload's queries from ``start`` on, resetting after each episode;
    with ``kept``, every step's results are kept (a deliberate leak)."""
    for i in range(start, start + steps):
        result = env.step(queries[i % len(queries)])
        if kept is not None:
            kept.append(result)
        if result[2] or result[3]:
            env.reset()
    return start + steps


def _python_heap() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _jvm_heap() -> int:
    """Bytes in use on the JVM's heap after a requested full collection."""
    from indexes._java import autoclass

    runtime, system = autoclass("java.lang.Runtime").getRuntime(), autoclass("java.lang.System")
    for _ in range(2):
        system.gc()
    return runtime.totalMemory() - runtime.freeMemory()


def test_memory_stays_flat_over_many_steps_and_episodes(indexed_snapshot):
    """The README's "memory stays flat under load": after a warm-up, the Python heap (every object
    the env allocates, numpy arrays and JVM object wrappers included, as tracemalloc counts them)
    grows by less than a tenth of what keeping one step's results per step would add, and the JVM
    heap by less than :data:`JVM_SLACK`. Heaps, not RSS: the allocator and other processes on a
    shared machine move RSS by more than such a leak."""
    env = make_env(str(indexed_snapshot.path), modes="keyword", k=100, budget=5, dynamics="removal",
                   split=["train", "dev", "test"])
    queries = workload(indexed_snapshot, seed=0, size=100)
    tracemalloc.start()
    try:
        env.reset(seed=0)
        at = _step_through(env, queries, 100, 0)  # warm-up: every query once, 20 episodes
        kept: list = []
        before = _python_heap()
        at = _step_through(env, queries, 20, at, kept)
        leak_per_step = (_python_heap() - before) / len(kept)  # what one leaked copy of a step's results costs
        kept.clear()
        jvm_before = _jvm_heap()  # first: its own Java class wrappers are made once, outside the measure
        python_before = _python_heap()
        _step_through(env, queries, FLAT_STEPS, at)
        python_growth = _python_heap() - python_before
        jvm_growth = _jvm_heap() - jvm_before
    finally:
        tracemalloc.stop()
        env.close()
    leak = FLAT_STEPS * leak_per_step
    assert leak_per_step > 1 * KIB  # a step's results: 100 exposed positions, their bit masks, the info dict
    assert python_growth < leak / 10, (f"the Python heap grew {python_growth / KIB:.1f} KiB over {FLAT_STEPS} "
                                       f"steps; one leaked result per step would add {leak / KIB:.0f} KiB")
    assert jvm_growth < JVM_SLACK, f"the JVM heap grew {jvm_growth / KIB:.1f} KiB over {FLAT_STEPS} steps"


def test_load_benchmark_reports_speed_and_memory_of_every_process(indexed_snapshot, tmp_path):
    steps, workers, budget = 200, 2, 5
    assert main(["bench", "load", str(indexed_snapshot.path), "--steps", str(steps), "--workers", str(workers),
                 "--samples", "10", "--budget", str(budget), "--out", str(tmp_path)]) == 0
    stored = json.loads((tmp_path / "load.json").read_text())
    vector_steps = math.ceil(steps / workers)
    assert stored["env_steps"] == vector_steps * workers == 200 and stored["env_steps_per_s"] > 0
    # next-step autoreset: each worker's episode is `budget` steps and one reset step
    assert stored["episodes"] == workers * ((vector_steps + 1) // (budget + 1))
    samples = stored["samples"]
    every = vector_steps // 10  # a sample every tenth of the run, and one at the end
    assert [s["env_steps"] for s in samples] == [*range(workers, steps, every * workers), steps]
    assert all(a["seconds"] <= b["seconds"] for a, b in itertools.pairwise(samples))
    assert all(set(s["rss_mib"]) == {"main", "worker 0", "worker 1"} for s in samples)
    assert np.all([v > 50 for s in samples for v in s["rss_mib"].values()])
    assert stored["memory"] == memory_summary(samples)  # the summary is the samples', recomputed
    growth = stored["memory"]["second_half_growth_mib"]
    assert stored["memory"]["max_second_half_growth_mib"] == max(growth.values())
    seconds = stored["seconds"]  # rounded to 0.1 s
    assert steps / (seconds + 0.05) <= stored["env_steps_per_s"] <= steps / max(seconds - 0.05, 1e-9)
    assert (tmp_path / "memory.png").is_file()
