"""Explore-v0 as an OpenEnv environment, over a real server on loopback (OpenEnv's app under uvicorn)
and OpenEnv's WebSocket client: reset, step, the env's reward, concurrent isolated sessions, errors."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import httpx
import pytest
from openenv import GenericEnvClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from qx_env import QxError
from qx_env.adapters.openenv import ExploreAction, ExploreClient, create_openenv_app
from qx_env.adapters.server import ServerThread
from qx_env.envs import ExploreEnv
from qx_env.search import AuditedSearch, SearchSystem

OPTIONS = {"reward": "new_toxic+0.1*query_cost", "dynamics": "removal", "split": "test", "budget": 3,
           "observe_results": 2}


@pytest.fixture(scope="module")
def queries(snapshot) -> list[str]:
    known = [snapshot.position_of[i] for i in snapshot.reports_in("test").column("item_id").to_pylist()]
    audit = AuditedSearch(SearchSystem(snapshot), "static", known=known)
    phrases = sorted({p for row in snapshot.reports.column("annotations").to_pylist() for p in row})
    return [p for p in phrases if audit.run(p).toxic_hits][:3]


@pytest.fixture(scope="module")
def server(snapshot):
    with ServerThread(create_openenv_app(snapshot.path, max_sessions=16, **OPTIONS)) as running:
        yield running


def env_rewards(snapshot, report_id, actions) -> list[float]:
    env = ExploreEnv(snapshot.path, **OPTIONS)
    env.reset(options={"report_id": report_id})
    return [env.step(action)[1] for action in actions]


def test_reset_step_and_the_envs_reward_through_the_client(snapshot, server, queries):
    report_id = snapshot.reports_in("test").column("report_id")[0].as_py()
    with ExploreClient(base_url=server.url).sync() as client:
        first = client.reset(report_id=report_id)
        assert first.observation.report_id == report_id and first.observation.budget == 3 and not first.done
        assert first.observation.report == snapshot.report_texts(snapshot.reports_in("test"))[0]
        steps = [client.step(ExploreAction(query=queries[0])), client.step(ExploreAction(query=queries[1:3]))]
        state = client.state()
    assert [s.reward for s in steps] == pytest.approx(env_rewards(snapshot, report_id, [queries[0], queries[1:3]]))
    assert steps[0].reward > 0 and steps[-1].done and steps[-1].observation.budget == 0
    history = steps[-1].observation.history
    assert [h["query"] for h in history] == queries[:3]
    assert len(steps[0].observation.results) == min(2, history[0]["exposed"]) > 0
    assert state.report_id == report_id and state.queries == 3
    assert state.total_reward == pytest.approx(sum(s.reward for s in steps))
    # the schema the server publishes: observation fields only, nothing hidden
    schema = httpx.get(server.url + "/schema", timeout=30).json()
    assert set(schema["observation"]["properties"]) == {"report_id", "report", "budget", "history", "results",
                                                        "reward", "done", "metadata"}
    assert set(history[0]) == {"query", "exposed", "toxic"}
    assert not any(item_id in json.dumps(history) for item_id in snapshot.ids[:100])


def test_concurrent_sessions_keep_their_own_removals(snapshot, server, queries):
    report_id = snapshot.reports_in("test").column("report_id")[1].as_py()
    expected = env_rewards(snapshot, report_id, [queries[0], queries[0]])
    assert expected[0] > 0 and expected[1] < expected[0]  # under removal a second look finds less

    async def rollout() -> list[float]:
        async with ExploreClient(base_url=server.url) as client:
            await client.reset(report_id=report_id)
            rewards = []
            for _ in range(2):
                rewards.append((await client.step(ExploreAction(query=queries[0]))).reward)
                await asyncio.sleep(0)
            return rewards

    async def group() -> list[list[float]]:
        return await asyncio.gather(*(rollout() for _ in range(8)))

    for rewards in asyncio.run(group()):
        assert rewards == pytest.approx(expected)


def test_bad_input_is_answered_and_the_server_keeps_serving(snapshot, server, queries, tmp_path):
    with ExploreClient(base_url=server.url).sync() as client:
        with pytest.raises(RuntimeError, match="unknown report id"):
            client.reset(report_id="no-such-report")
        with pytest.raises(RuntimeError, match="reset"):
            client.step(ExploreAction(query="x"))
        client.reset()
        assert client.step(ExploreAction(query=queries[0])).observation.budget == 2
    bad = httpx.post(server.url + "/step", json={"action": {"query": 3}}, timeout=30)
    assert bad.status_code == 422
    with pytest.raises(QxError, match="reward term"):
        create_openenv_app(snapshot.path, reward="bogus")
    with pytest.raises(QxError, match="max_sessions"):
        create_openenv_app(snapshot.path, max_sessions=0)
    with pytest.raises(QxError, match="snapshot"):
        create_openenv_app(tmp_path / "missing")


def test_sessions_past_the_limit_are_refused(snapshot, queries):
    with ServerThread(create_openenv_app(snapshot.path, max_sessions=1, **OPTIONS)) as running, \
            ExploreClient(base_url=running.url).sync() as first:
        first.reset()
        with connect(running.url.replace("http://", "ws://") + "/ws") as second:  # the server speaks first
            reply = json.loads(second.recv(timeout=30))
            with pytest.raises(ConnectionClosed) as closed:
                second.recv(timeout=30)
        assert reply["type"] == "error" and reply["data"]["code"] == "CAPACITY_REACHED", reply
        assert reply["data"]["message"].startswith("server full: 1 of 1 sessions in use")
        assert closed.value.rcvd.code == 1013 and "--max-sessions" in closed.value.rcvd.reason
        assert first.step(ExploreAction(query=queries[0])).observation.budget == 2


@pytest.mark.parametrize("client_class", [ExploreClient, GenericEnvClient])
def test_openenvs_own_client_beyond_the_limit_is_told_the_server_is_full(snapshot, queries, client_class):
    """openenv's client sends its reset after the server closed: before, it raised only
    ``ConnectionClosedOK: received 1000 (OK)``; now its error says the server is full and names the flag."""
    with ServerThread(create_openenv_app(snapshot.path, max_sessions=1, **OPTIONS)) as running, \
            client_class(base_url=running.url).sync() as first:
        first.reset()
        with pytest.raises((RuntimeError, ConnectionClosed)) as refused, \
                client_class(base_url=running.url).sync() as second:
            second.reset()
        message = str(refused.value)
        assert "server full: 1 of 1 sessions in use" in message and "--max-sessions" in message, message
        assert "(OK)" not in message
        if client_class is ExploreClient:
            assert first.step(ExploreAction(query=queries[0])).observation.budget == 2
        else:
            assert first.step({"query": queries[0]}).observation["budget"] == 2


def test_http_step_before_a_reset_is_a_4xx_that_says_why(server, queries):
    """OpenEnv's plain HTTP routes make a fresh environment per request: a /step has had no reset."""
    response = httpx.post(server.url + "/step", json={"action": {"query": queries[0]}}, timeout=30)
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert detail.startswith("no episode has started: reset before the first step") and "/ws" in detail
    unknown = httpx.post(server.url + "/reset", json={"report_id": "no-such-report"}, timeout=30)
    assert unknown.status_code == 400 and "unknown report id" in unknown.json()["detail"], unknown.text
    fine = httpx.post(server.url + "/reset", json={"seed": 3}, timeout=30)
    assert fine.status_code == 200 and fine.json()["observation"]["budget"] == 3


def test_the_module_command_refuses_a_missing_snapshot_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "qx_env.adapters.openenv", str(tmp_path / "missing"), "--port", "0"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith("qx-openenv: error:") and "missing" in done.stderr
