"""``qx bench serve`` end to end on a small snapshot: a real ``qx serve`` process driven in turn by the
benchmark's own client (spread over two client processes), verl's stock ``call_search_api`` and the
benchmark's client with sessions; every request a client sent is one the server counted."""

from __future__ import annotations

import json

import pytest

from benchmarks import serve
from qx_env import Snapshot


@pytest.fixture(scope="module")
def snapshot(keyword_snapshot) -> Snapshot:
    return keyword_snapshot


def test_both_clients_get_a_row_and_every_request_is_counted_by_the_server(snapshot, tmp_path, capsys):
    out = tmp_path / "serve.json"
    args = serve.Args(snapshot=str(snapshot.path), clients=4, processes=2, seconds=1.0, warmup=0.2, episode=3,
                      topk=5, out=str(out))
    result = serve.main(args)

    rows = {row["run"]: row for row in result["rows"]}
    assert list(rows) == ["qx", "verl", "qx-sessions"]
    assert [rows[r]["client"] for r in rows] == ["qx", "verl", "qx"]
    for row in rows.values():
        assert row["processes"] == 2 and row["clients"] == 4
        assert row["requests"] > 0 and row["errors"] == 0 and row["server_errors"] == 0
        assert row["requests"] <= row["sent"]  # the window leaves the warm-up out
        assert row["sent"] + row["resets"] == row["server_requests"]  # nothing lost, nothing uncounted
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
        assert row["queries_per_s"] == pytest.approx(row["requests"] / row["seconds"], rel=0.01)
        assert row["client_cores"] > 0 and row["server_cores"] > 0
    assert rows["qx"]["resets"] == rows["verl"]["resets"] == 0
    sessions = rows["qx-sessions"]
    assert sessions["resets"] >= 4 and sessions["reset_errors"] == 0  # each client reset its own session
    assert sessions["resets"] == pytest.approx(sessions["sent"] / 3, abs=4)  # one reset per 3-query episode
    assert result["server_stats"]["sessions"] == 4 and result["items"] == 1500

    assert json.loads(out.read_text())["rows"] == result["rows"]
    printed = capsys.readouterr().out
    assert "| qx | qx (asyncio, keep-alive) | none |" in printed
    assert "| verl | verl call_search_api (threads) | none |" in printed
    assert "| qx-sessions | qx (asyncio, keep-alive) | own |" in printed


@pytest.mark.parametrize(("change", "message"), [
    ({"runs": ("wrk",)}, "--runs takes some of qx, verl, qx-sessions, httpx-sessions; got wrk"),
    ({"clients": 0}, "--clients must be at least 1, got 0"),
    ({"seconds": 0.0}, "--seconds and --timeout must be positive, --warmup and --processes not negative"),
])
def test_bad_settings_are_refused_in_one_line_before_anything_starts(change, message):
    with pytest.raises(ValueError) as refused:
        serve.check(serve.Args(**change))
    assert str(refused.value) == message
