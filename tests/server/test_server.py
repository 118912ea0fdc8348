"""The retrieval server over a real uvicorn on loopback, talked to with httpx: the Search-R1 / verl,
SkyRL and GEM (msgpack) shapes, per-session removal against the env's auditor, bad input, stats."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys

import httpx
import msgpack
import numpy as np
import pytest

from indexes import build_indexes
from qx_env import Snapshot
from qx_env.adapters.server import ServerConfig, ServerThread, create_app
from qx_env.adapters.server.batching import SearchWorker
from qx_env.adapters.server.formats import contents_of
from qx_env.adapters.server.sessions import SessionStore
from qx_env.corpus import SynthConfig, synthesize
from qx_env.search import AuditedSearch, SearchSystem

#: Every key a response may carry: no label, cluster or other hidden field, ever.
ALLOWED_KEYS = {"result", "document", "id", "contents", "score"}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> Snapshot:
    config = SynthConfig(language="zh", items=1500, toxic_share=0.06, seed=5)
    path = synthesize(config, progress=False).save(tmp_path_factory.mktemp("serve") / "zh")
    snapshot = Snapshot.load(path)
    build_indexes(snapshot, modes=("keyword",), progress=False)
    return snapshot


@pytest.fixture(scope="module")
def queries(snapshot) -> list[str]:
    """Annotated phrases of the reports that expose toxic items besides the reported ones."""
    phrases = sorted({p for row in snapshot.reports.column("annotations").to_pylist() for p in row})
    audit = AuditedSearch(SearchSystem(snapshot), "static", known=known(snapshot))
    found = [p for p in phrases if audit.run(p).toxic_hits]
    assert len(found) >= 12
    return found[:12]


@contextlib.contextmanager
def running(snapshot, **options):
    with ServerThread(create_app(snapshot, ServerConfig(**options))) as server, \
            httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def client(snapshot):
    with running(snapshot) as client:
        yield client


def known(snapshot) -> np.ndarray:
    ids = snapshot.reports_in("test").column("item_id").to_pylist()
    return np.array([snapshot.position_of[i] for i in ids], dtype=np.int64)


def keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*(keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys(v) for v in value)) if value else set()
    return set()


def reference_exposed(snapshot, queries: list[str], dynamics: str = "static") -> list[list[str]]:
    """Item ids each query exposes through the env's auditor, one query after another."""
    audit = AuditedSearch(SearchSystem(snapshot), dynamics, known=known(snapshot))
    return [snapshot.ids[audit.run(q).exposed].tolist() for q in queries]


def test_search_r1_request_answers_the_search_systems_top_k_and_nothing_hidden(client, snapshot, queries):
    response = client.post("/retrieve", json={"queries": queries[:4], "topk": 5, "return_scores": True})
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    expected = reference_exposed(snapshot, queries[:4])
    assert [[hit["document"]["id"] for hit in hits] for hits in result] == [ids[:5] for ids in expected]
    texts = dict(zip(snapshot.ids.tolist(), snapshot.texts))
    for hits in result:
        assert [hit["score"] for hit in hits] == [1 / rank for rank in range(1, len(hits) + 1)]
        assert all(hit["document"]["contents"] == contents_of(texts[hit["document"]["id"]]) for hit in hits)
    assert any(result), "the annotated phrases should find something"
    assert keys(response.json()) <= ALLOWED_KEYS


def test_bare_documents_without_scores_and_skyrl_single_query(client, snapshot, queries):
    bare = client.post("/retrieve", json={"queries": [queries[0]], "topk": 3}).json()
    single = client.post("/retrieve", json={"query": queries[0], "topk": 3}).json()
    assert bare == single
    assert [d["id"] for d in bare["result"][0]] == reference_exposed(snapshot, queries[:1])[0][:3]
    assert keys(bare) <= ALLOWED_KEYS - {"document", "score"} | {"result"}


def test_gem_msgpack_request_gets_a_msgpack_answer(client, queries):
    payload = {"queries": [queries[1]], "topk": 2, "return_scores": True}
    response = client.post("/retrieve", content=msgpack.packb(payload))  # GEM sends no Content-Type
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/msgpack"
    as_json = client.post("/retrieve", json=payload).json()
    assert msgpack.unpackb(response.content) == as_json


def test_each_session_has_its_own_removal_state_as_in_the_env(client, snapshot, queries):
    repeated = [queries[0], queries[0], queries[1]]
    expected = reference_exposed(snapshot, repeated, "removal")
    assert expected[0] != expected[1], "removal should take the first query's toxic items down"
    for session in ("rollout-a", "rollout-b"):
        assert client.post(f"/session/{session}/reset").json() == {"session_id": session, "created": True}
    got = [client.post("/retrieve", json={"query": q, "topk": 100}, headers={"X-Session-Id": "rollout-a"})
           .json()["result"][0] for q in repeated]
    assert [[d["id"] for d in hits] for hits in got] == expected
    other = client.post("/retrieve", json={"query": queries[0], "topk": 100, "session_id": "rollout-b"}).json()
    assert [d["id"] for d in other["result"][0]] == expected[0]  # untouched by rollout-a's removals
    client.post("/session/rollout-a/reset")
    again = client.post("/retrieve", json={"query": queries[0], "topk": 100, "session_id": "rollout-a"}).json()
    assert [d["id"] for d in again["result"][0]] == expected[0]  # reset restores the snapshot
    static = client.post("/retrieve", json={"query": queries[0], "topk": 100}).json()
    assert [d["id"] for d in static["result"][0]] == expected[0]  # no session: nothing is ever removed


def test_concurrent_sessions_match_one_by_one(snapshot, queries):
    sessions = [f"s{i}" for i in range(16)]
    plans = {s: [queries[i % len(queries)], queries[(i + 1) % len(queries)], queries[i % len(queries)]]
             for i, s in enumerate(sessions)}

    async def rollout(client: httpx.AsyncClient, session: str) -> list[list[str]]:
        out = []
        for query in plans[session]:
            response = await client.post("/retrieve", json={"query": query, "topk": 100},
                                         headers={"X-Session-Id": session})
            out.append([d["id"] for d in response.json()["result"][0]])
        return out

    async def main(url: str) -> list:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            return await asyncio.gather(*(rollout(client, s) for s in sessions))

    with ServerThread(create_app(snapshot, ServerConfig(auto_sessions=True))) as server:
        results = asyncio.run(main(server.url))
    for session, got in zip(sessions, results):
        assert got == reference_exposed(snapshot, plans[session], "removal"), session


def test_waiting_requests_are_served_in_one_batch_call(snapshot, queries):
    store = SessionStore(SearchSystem(snapshot), ServerConfig())
    worker = SearchWorker(store, max_batch=64)

    async def main():
        futures = [worker.search(None, (q,)) for q in queries[:8]]  # queued before the worker starts
        worker.start()
        try:
            return await asyncio.gather(*futures)
        finally:
            worker.stop()

    results = asyncio.run(main())
    assert worker.batches == 1 and worker.jobs == 8
    expected = reference_exposed(snapshot, queries[:8])
    assert [snapshot.ids[r[0]].tolist() for r in results] == expected


def test_evaluation_endpoint_is_off_unless_asked_for(client, snapshot, queries):
    client.post("/session/judge/reset")
    response = client.get("/session/judge/evaluation")
    assert response.status_code == 403 and "--evaluation" in response.json()["error"]
    with running(snapshot, evaluation=True) as evaluating:
        evaluating.post("/session/judge/reset")
        evaluating.post("/retrieve", json={"queries": queries[:3]}, headers={"X-Session-Id": "judge"})
        report = evaluating.get("/session/judge/evaluation").json()
    audit = AuditedSearch(SearchSystem(snapshot), "removal", known=known(snapshot))
    outcomes = [audit.run(q) for q in queries[:3]]
    assert report["queries"] == 3
    assert report["toxic_hits"] == sum(o.toxic_hits for o in outcomes) > 0
    assert sorted(report["detected_ids"]) == sorted(snapshot.ids[np.concatenate([o.new for o in outcomes])].tolist())


BAD_BODIES = [
    ({"content": b"{not json"}, 400, "not valid JSON"),
    ({"content": b"\xc1\xc1\xc1", "headers": {"content-type": "application/msgpack"}}, 400, "not valid msgpack"),
    ({"content": b""}, 400, "empty request body"),
    ({"content": b" " * (2 << 20)}, 413, "over the"),
    ({"json": {"queries": ["x"] * 300}}, 413, "--max-queries"),
    ({"json": {"query": "x", "session_id": "nobody"}}, 404, "unknown session 'nobody'"),
    ({"json": {"query": "x"}, "headers": {"x-session-id": "bad id!"}}, 400, "X-Session-Id"),
    ({"json": {"queries": ["x"], "topk": 0}}, 400, "'topk' must be in [1, 100]"),
    ({"json": {"queries": ["x"], "topk": 10**6}}, 400, "'topk' must be in [1, 100]"),
    ({"json": {"queries": ["x"], "topk": "3"}}, 400, "'topk' must be an integer"),
    ({"json": {"queries": [3]}}, 400, "queries[0] must be a string"),
    ({"json": {"query": ["x"]}}, 400, "field 'query' must be a string"),
    ({"json": {"queries": "x"}}, 400, "must be a list of strings"),
    ({"json": {"queries": []}}, 400, "is empty"),
    ({"json": ["x"]}, 400, "must be an object"),
    ({"json": {"topk": 3}}, 400, "neither 'queries'"),
    ({"json": {"queries": ["x" * 600]}}, 400, "--max-query-chars"),
    ({"json": {"queries": ["x"], "return_scores": "yes"}}, 400, "'return_scores' must be true or false"),
]


@pytest.mark.parametrize(("request_args", "status", "fragment"), BAD_BODIES,
                         ids=[f"{status}-{fragment[:20]}" for _, status, fragment in BAD_BODIES])
def test_bad_bodies_get_a_clear_4xx_and_the_server_keeps_serving(client, queries, request_args, status, fragment):
    response = client.post("/retrieve", **request_args)
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]
    assert "Traceback" not in response.text
    assert client.post("/retrieve", json={"query": queries[0]}).status_code == 200


def test_a_flood_of_sessions_is_refused_with_429(snapshot, queries):
    with running(snapshot, max_sessions=4) as client:
        created = [client.post(f"/session/f{i}/reset").status_code for i in range(4)]
        refused = client.post("/session/f4/reset")
        assert created == [200] * 4 and refused.status_code == 429
        assert "--max-sessions" in refused.json()["error"]
        assert client.delete("/session/f0").json()["dropped"] is True
        assert client.post("/session/f4/reset").status_code == 200  # room again
        assert client.delete("/session/f0").status_code == 404
        assert client.get("/health").json()["sessions"] == 4


def test_stats_count_queries_latency_and_errors(snapshot, queries):
    with running(snapshot) as client:
        for query in queries[:5]:
            client.post("/retrieve", json={"queries": [query, query]})
        client.post("/retrieve", content=b"{")
        stats = client.get("/stats").json()
    assert stats["requests"] == 6 and stats["queries"] == 10
    assert stats["errors"] == 1 and stats["errors_by_status"] == {"400": 1}
    assert 0 < stats["p50_ms"] <= stats["p95_ms"]
    assert stats["queries_per_s"] > 0 and stats["batches"] >= 5


def test_qx_serve_command_serves_on_loopback(snapshot, queries):
    command = [sys.executable, "-m", "qx_env", "serve", str(snapshot.path), "--port", "0", "--topk", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        assert "on http://127.0.0.1:" in banner, banner + process.stderr.read()
        url = banner.split("on ", 1)[1].split()[0]
        answer = httpx.post(url + "/retrieve", json={"queries": [queries[0]]}, timeout=30).json()
        assert len(answer["result"][0]) == min(2, len(reference_exposed(snapshot, queries[:1])[0]))
        assert json.loads(httpx.get(url + "/health").text)["status"] == "ok"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_accepted_connections_send_answers_without_waiting_for_an_ack(snapshot):
    """Every connection the server accepts has TCP_NODELAY (asyncio sets it only on a socket made with
    IPPROTO_TCP): without it a keep-alive client (httpx, aiohttp) waits for its delayed ACK, about 40 ms,
    on every answer, since the body follows the headers in a second write."""
    with ServerThread(create_app(snapshot)) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/health").status_code == 200
        connections = server._server.server_state.connections
        assert len(connections) == 1
        for connection in connections:
            sock = connection.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_qx_serve_refuses_bad_settings_in_one_line(snapshot):
    done = subprocess.run([sys.executable, "-m", "qx_env", "serve", str(snapshot.path), "--topk", "0"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "qx: error: topk must be in [1, k=100], got 0"


def test_qx_serve_refuses_missing_indexes_unless_asked_to_build(tmp_path):
    path = synthesize(SynthConfig(language="zh", items=300, toxic_share=0.06, seed=1), progress=False).save(tmp_path / "s")
    done = subprocess.run([sys.executable, "-m", "qx_env", "serve", str(path), "--port", "0"], check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("qx: error:") and "qx index build" in done.stderr
    assert "Traceback" not in done.stderr


def test_modes_and_split_are_lists_from_one_comma_separated_flag_or_string():
    import argparse

    from qx_env.flags import add_dataclass_flags, dataclass_from_flags

    parser = argparse.ArgumentParser()
    add_dataclass_flags(parser, ServerConfig)
    config = dataclass_from_flags(ServerConfig, parser.parse_args(["--modes", "keyword,embedding", "--split", "train,test"]))
    assert config.modes == ("keyword", "embedding") and config.split == ("train", "test")
    assert ServerConfig().modes == ("keyword",) and ServerConfig().split == ("test",)
    assert ServerConfig(modes="keyword, graph", split="dev") == ServerConfig(modes=("keyword", "graph"), split=("dev",))
