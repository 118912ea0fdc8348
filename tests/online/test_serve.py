"""``qx serve`` under adaptive dynamics, over a real uvicorn on loopback with httpx: each session is a platform
run whose resets hand out the reports it files (the reports ExploreEnv's run of the server's seed files, given
the same queries), whose searches take listings down for the rest of the run and make campaigns reword, kept
apart from other sessions' runs; session-less searches are refused; nothing hidden is returned."""

from __future__ import annotations

import httpx
import pytest

from qx_env.adapters.server import ServerConfig, ServerThread, create_app
from qx_env.envs import ExploreEnv
from qx_env.errors import QxError

SPLITS = ("train", "dev", "test")
DYNAMICS = "adaptive:days=28"
MISS = "不存在的词语"


@pytest.fixture(scope="module")
def served(campaign_snapshot):
    config = ServerConfig(dynamics=DYNAMICS, split=SPLITS, k=20, candidates=50, evaluation=True, seed=3)
    with ServerThread(create_app(campaign_snapshot, config)) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def _marks(env) -> dict:
    return dict(zip(env.reports.column("report_id").to_pylist(), env.reports.column("annotations").to_pylist()))


def _search(client, session: str, queries: list[str]) -> list[list[dict]]:
    response = client.post("/retrieve", json={"queries": queries, "topk": 3, "session_id": session})
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_a_session_is_a_platform_run_as_the_env_plays_it(served, campaign_snapshot):
    env = ExploreEnv(campaign_snapshot, k=20, candidates=50, budget=1, dynamics={"kind": "adaptive", "days": 28},
                     split=list(SPLITS))
    marks = _marks(env)
    observation, info = env.reset(seed=3)
    started = served.post("/session/one/reset").json()
    assert started["created"] and started["report_id"] == info["report_id"]
    assert started["report"] == observation["report"]
    detections = 0
    for _ in range(10):
        queries = marks[info["report_id"]][:1] or [MISS]
        _, _, _, _, step = env.step(queries)
        detections += sum(q["new_detections"] for q in step["queries"])
        results = _search(served, "one", queries)
        assert all(set(doc) <= {"document", "id", "contents", "score"} for docs in results for doc in docs)
        observation, info = env.reset()
        moved = served.post("/session/one/reset").json()
        assert not moved["created"] and (moved["report_id"], moved["report"]) == (info["report_id"],
                                                                                  observation["report"])
    evaluation = served.get("/session/one/evaluation").json()
    assert evaluation["new_detections"] == detections == len(evaluation["detected_ids"]) > 0
    assert evaluation["queries"] == 10


def test_sessions_are_runs_of_their_own(served, campaign_snapshot):
    """Session a takes listings down while session b asks for nothing: b's run files what an undisturbed run
    files."""
    env = ExploreEnv(campaign_snapshot, k=20, candidates=50, budget=1, dynamics={"kind": "adaptive", "days": 28},
                     split=list(SPLITS))
    marks = _marks(env)
    _, info = env.reset(seed=3)
    undisturbed = []
    for _ in range(8):
        undisturbed.append(info["report_id"])
        env.step([MISS])
        _, info = env.reset()
    reports = {name: [served.post(f"/session/{name}/reset").json()["report_id"]] for name in ("a", "b")}
    for _ in range(7):
        _search(served, "a", marks[reports["a"][-1]] or [MISS])
        _search(served, "b", [MISS])
        for name in ("a", "b"):
            reports[name].append(served.post(f"/session/{name}/reset").json()["report_id"])
    assert reports["b"] == undisturbed
    evaluations = {name: served.get(f"/session/{name}/evaluation").json() for name in ("a", "b")}
    assert evaluations["a"]["new_detections"] > 0 and evaluations["b"]["new_detections"] == 0


def test_session_less_searches_are_refused_under_adaptive_dynamics(served):
    response = served.post("/retrieve", json={"queries": ["转让"], "topk": 3})
    assert response.status_code == 400 and "belongs to a session's platform run" in response.json()["error"]


def test_bad_adaptive_options_are_one_clear_error():
    with pytest.raises(QxError, match="bad option 'speed=2'"):
        ServerConfig(dynamics="adaptive:speed=2")
    with pytest.raises(QxError, match="report_rate must be in"):
        ServerConfig(dynamics="adaptive:report_rate=-1")
    with pytest.raises(QxError, match="choose from static, removal, delayed, adaptive"):
        ServerConfig(dynamics="weekly")
