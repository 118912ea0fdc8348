"""The peers' own retrieval clients against a real ``qx serve`` process on loopback: GEM's ``SearchTool``
(one msgpack ``query``, a flat ``result``), Search-R1's and verl's batch clients, and the passage
formatting each applies to ``contents`` (title on the first line, the listing after it).

The peers' code is copied unchanged (Apache-2.0, sources and commits cited there) into
``benchmarks/_peer_clients.py``, which the serve benchmark shares."""

from __future__ import annotations

import json
import subprocess
import sys

import msgpack
import numpy as np
import pytest
import requests

from benchmarks._peer_clients import SearchR1Client, SearchTool, perform_single_search_batch
from qx_env.adapters.server.formats import title_of
from qx_env.search import AuditedSearch, SearchSystem


@pytest.fixture(scope="module")
def retrieve_url(snapshot) -> str:
    """``qx serve`` as a user starts it, on a free loopback port; its ``/retrieve`` URL."""
    command = [sys.executable, "-m", "qx_env", "serve", str(snapshot.path), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        assert "on http://127.0.0.1:" in banner, banner + process.stderr.read()
        yield banner.split("on ", 1)[1].split()[0] + "/retrieve"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def queries(snapshot) -> list[str]:
    """Annotated phrases that find at least three items in the snapshot."""
    phrases = sorted({p for row in snapshot.reports.column("annotations").to_pylist() for p in row})
    found = [p for p in phrases if len(expected_ids(snapshot, p)) >= 3]
    assert len(found) >= 4
    return found[:4]


def expected_ids(snapshot, query: str) -> list[str]:
    """What a session-less request exposes: the search system with the test split's reports taken down."""
    ids = snapshot.reports_in("test").column("item_id").to_pylist()
    known = np.array([snapshot.position_of[i] for i in ids], dtype=np.int64)
    return snapshot.ids[AuditedSearch(SearchSystem(snapshot), "static", known=known).run(query).exposed].tolist()


def texts_of(snapshot, ids: list[str]) -> list[str]:
    return [snapshot.texts[snapshot.position_of[i]] for i in ids]


def test_gem_search_tool_reads_a_flat_result_from_qx_serve(retrieve_url, snapshot, queries):
    tool = SearchTool(search_url=retrieve_url, topk=3)
    for query in queries:
        valid, has_error, observation, _ = tool.execute_action(f"<think>look</think><search> {query} </search>")
        assert valid and not has_error, observation
        texts = texts_of(snapshot, expected_ids(snapshot, query)[:3])
        assert observation == "".join(f"Doc {i}(Title: {title_of(t)}) {t}\n" for i, t in enumerate(texts, 1))


def test_gem_single_msgpack_query_is_answered_as_gems_server_does(retrieve_url, snapshot, queries):
    """GEM's server: ``{"result": [{"document": ..., "score": ...}, ...]}``, score nil without return_scores;
    a msgpack ``queries`` batch keeps one list per query."""
    body = msgpack.unpackb(requests.post(retrieve_url, data=msgpack.packb({"query": queries[0], "topk": 2}),
                                         timeout=30).content)
    assert [hit["score"] for hit in body["result"]] == [None, None]
    assert [hit["document"]["id"] for hit in body["result"]] == expected_ids(snapshot, queries[0])[:2]
    batch = msgpack.unpackb(requests.post(retrieve_url, data=msgpack.packb({"queries": queries[:2], "topk": 2}),
                                          timeout=30).content)
    assert [[d["id"] for d in hits] for hits in batch["result"]] == [expected_ids(snapshot, q)[:2] for q in queries[:2]]


def test_search_r1_client_reads_a_title_and_the_listing(retrieve_url, snapshot, queries):
    client = SearchR1Client(retrieve_url, topk=3)
    got = client.batch_search(queries)
    for query, passages in zip(queries, got):
        texts = texts_of(snapshot, expected_ids(snapshot, query)[:3])
        assert passages == "".join(f"Doc {i}(Title: {title_of(t)}) {t}\n" for i, t in enumerate(texts, 1))


def test_verl_search_tool_reads_a_title_and_the_listing(retrieve_url, snapshot, queries):
    result_text, metadata = perform_single_search_batch(retrieve_url, queries[:2], topk=3)
    assert metadata["status"] == "success", metadata
    blocks = json.loads(result_text)["result"].split("\n---\n")
    for query, block in zip(queries[:2], blocks):
        texts = texts_of(snapshot, expected_ids(snapshot, query)[:3])
        assert block == "\n\n".join(f"Doc {i} (Title: {title_of(t)})\n{t}" for i, t in enumerate(texts, 1))
    for hits in metadata["api_response"]["result"]:
        for hit in hits:
            title, text = hit["document"]["contents"].split("\n", 1)
            assert text == snapshot.texts[snapshot.position_of[hit["document"]["id"]]]
            assert title and " ".join(text.split()).startswith(title)  # the opening words, nothing else


@pytest.mark.parametrize(("text", "title"), [
    ("戴森扫地机器人松下微波炉20L，三年前买的一直好用，价格7240", "戴森扫地机器人松下微波炉20L"),
    ("Ninja window AC unit Instant Pot Duo 6qt. students. $250 each.", "Ninja window AC unit Instant Pot Duo 6qt"),
    ("business license for sale - valid three years - £1090", "business license for sale"),
    ("#!!\nleake-d exam paper. test taker", "leake-d exam paper"),
    ("word " * 30, "word word word word word word word word word"),
    ("字" * 80, "字" * 48),
])
def test_title_is_the_listings_opening_words(text, title):
    assert title_of(text) == title
    assert "\n" not in title_of(text)
