"""The ``openai`` policy against a real HTTP server on loopback that speaks the OpenAI
chat-completions format (a small FastAPI app answering in the paper's format), through the real
``openai`` client library: prompt and parsing, cache, retries, timeouts, garbage, concurrency, and an
endpoint that misbehaves on purpose (flaky, dying mid-run, off-format answers, a non-JSON 200) under
``qx eval``: the URL in every failure, a counted warning, retries per request, a resumed run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from policies import OpenAIPolicy, make_policy, messages
from qx_env.adapters.server import ServerThread
from qx_env.cli import main
from qx_env.errors import QxError
from qx_env.parsers import ANSWER_PREFIXES

SECRET = "sk-test-never-written-0123456789"
TEXTS = ["红腹水虎 小苗 自提 青海民族大学", "二手 自行车 九成新", "MALFORMED 这条回答没有前缀"]


class Endpoint:
    """What the fake endpoint saw and how it misbehaves next."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.fail_next = 0  # answer 503 this many times
        self.delay = 0.0  # seconds before answering
        self.garbage = False
        self.garbage_json = False  # a 200 whose body claims JSON and is not
        self.flaky = False  # two of every three requests answer 503
        self.dead_after: int | None = None  # answer 503 for good after this many answers
        self.off_format = False  # every answer without the answer prefix
        self.answers = 0  # 200 answers sent
        self.in_flight = 0
        self.most_in_flight = 0

    def reply(self, body: dict) -> str:
        report = body["messages"][-1]["content"].split("：", 1)[-1]
        if report.startswith("MALFORMED") or self.off_format:
            return "我不知道"
        words = report.split()
        return ANSWER_PREFIXES["zh"] + ",".join(words[:2])


def make_app(endpoint: Endpoint) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        endpoint.requests.append(body)
        endpoint.headers.append(dict(request.headers))
        endpoint.in_flight += 1
        endpoint.most_in_flight = max(endpoint.most_in_flight, endpoint.in_flight)
        try:
            await asyncio.sleep(endpoint.delay)
            overloaded = JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
            if endpoint.fail_next:
                endpoint.fail_next -= 1
                return overloaded
            if endpoint.flaky and len(endpoint.requests) % 3 != 0:
                return overloaded
            if endpoint.dead_after is not None and endpoint.answers >= endpoint.dead_after:
                return overloaded
            if endpoint.garbage:
                return PlainTextResponse("<html>proxy error page</html>")
            if endpoint.garbage_json:
                return Response(b"<html>proxy error page</html>", media_type="application/json")
            endpoint.answers += 1
            choices = [{"index": i, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": endpoint.reply(body)}}
                       for i in range(body.get("n", 1))]
            return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": choices, "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        finally:
            endpoint.in_flight -= 1

    return app


@pytest.fixture
def endpoint():
    state = Endpoint()
    with ServerThread(make_app(state)) as server:
        state.url = server.url + "/v1"
        yield state


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("QX_TEST_KEY", SECRET)


def policy(endpoint, tmp_path, **options) -> OpenAIPolicy:
    spec = {"base_url": endpoint.url, "model": "tiny-chat", "api_key_env": "QX_TEST_KEY",
            "cache": str(tmp_path / "cache"), "backoff": 0.01, **options}
    return make_policy("openai:" + ",".join(f"{k}={v}" for k, v in spec.items()))


def test_paper_prompt_and_answer_parsing_through_the_openai_client(endpoint, tmp_path):
    with pytest.warns(UserWarning, match=rf"1 of 3 answers from {endpoint.url} are not in the expected format"):
        queries = policy(endpoint, tmp_path, max_tokens=64).extract(TEXTS)
    assert queries == [["红腹水虎", "小苗"], ["二手", "自行车"], []]  # the last answer has no prefix
    sent = sorted(endpoint.requests, key=lambda body: body["messages"][-1]["content"])
    assert sorted(r["messages"][-1]["content"] for r in sent) == sorted(messages(t, "zh")[-1]["content"] for t in TEXTS)
    assert all(r["messages"] == messages(r["messages"][-1]["content"].split("：", 1)[1], "zh") for r in sent)
    assert {(r["model"], r["temperature"], r["max_tokens"], r["n"]) for r in sent} == {("tiny-chat", 0.0, 64, 1)}
    assert {h["authorization"] for h in endpoint.headers} == {f"Bearer {SECRET}"}
    assert policy(endpoint, tmp_path).extract(["  "]) == [[]]  # nothing to ask about


@pytest.mark.filterwarnings("ignore:policy 'openai'")
def test_cache_makes_a_rerun_free_and_never_holds_the_key(endpoint, tmp_path):
    first = policy(endpoint, tmp_path).extract(TEXTS)
    asked = len(endpoint.requests)
    assert asked == len(TEXTS)
    assert policy(endpoint, tmp_path).extract(TEXTS) == first  # a new policy object: a rerun
    assert len(endpoint.requests) == asked
    policy(endpoint, tmp_path, temperature=0.5).extract(TEXTS[:1])  # other options: another key
    assert len(endpoint.requests) == asked + 1
    files = sorted((tmp_path / "cache").rglob("*.json"))
    assert len(files) == len(TEXTS) + 1
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert SECRET not in text and "QX_TEST_KEY" not in text
        assert set(json.loads(text)) == {"model", "options", "answers"}
    greedy = next(f for f in files if json.loads(f.read_text(encoding="utf-8"))["options"]["temperature"] == 0)
    greedy.write_text("{truncated", encoding="utf-8")  # a damaged entry is asked again, not trusted
    assert policy(endpoint, tmp_path).extract(TEXTS) == first
    assert len(endpoint.requests) == asked + 2
    assert json.loads(greedy.read_text(encoding="utf-8"))["answers"]  # and rewritten


def test_overloaded_endpoint_is_retried_with_back_off(endpoint, tmp_path):
    endpoint.fail_next = 2
    assert policy(endpoint, tmp_path, retries=2).extract(TEXTS[:1]) == [["红腹水虎", "小苗"]]
    assert len(endpoint.requests) == 3
    endpoint.fail_next = 5
    with pytest.raises(QxError, match=rf"{endpoint.url} failed: InternalServerError.*\(2 attempts\)"):
        policy(endpoint, tmp_path, retries=1, cache="off").extract(TEXTS[1:2])


def test_a_timeout_is_a_clear_error_naming_the_url(endpoint, tmp_path):
    endpoint.delay = 3.0
    with pytest.raises(QxError, match=rf"^OpenAI-compatible endpoint {endpoint.url} timed out after 0.3 s "
                                      r"\(2 attempts\)") as error:
        policy(endpoint, tmp_path, timeout=0.3, retries=1).extract(TEXTS[:1])
    assert SECRET not in str(error.value)


def test_a_garbage_answer_is_a_clear_error_naming_the_url(endpoint, tmp_path):
    endpoint.garbage = True
    with pytest.raises(QxError, match=rf"{endpoint.url} answered something that is not a chat completion"):
        policy(endpoint, tmp_path).extract(TEXTS[:1])
    assert not list((tmp_path / "cache").rglob("*.json"))  # nothing cached from garbage


@pytest.mark.parametrize("concurrency", [1, 3])
def test_requests_in_flight_are_bounded(endpoint, tmp_path, concurrency):
    endpoint.delay = 0.05
    texts = [f"商品 {i} 号 描述" for i in range(10)]
    assert policy(endpoint, tmp_path, concurrency=concurrency).extract(texts) == [["商品", str(i)] for i in range(10)]
    assert 1 <= endpoint.most_in_flight <= concurrency


def test_sampled_candidates_are_distinct_answers(endpoint, tmp_path):
    assert policy(endpoint, tmp_path, temperature=0.7).candidates(TEXTS[0], 4) == [["红腹水虎", "小苗"]]
    assert endpoint.requests[-1]["n"] == 4
    assert policy(endpoint, tmp_path).candidates(TEXTS[1], 4) == [["二手", "自行车"]]
    assert endpoint.requests[-1]["n"] == 1  # greedy: one answer


def test_bad_specs_name_the_problem(monkeypatch):
    with pytest.raises(QxError, match="needs base_url"):
        make_policy("openai:model=m")
    with pytest.raises(QxError, match="needs model"):
        make_policy("openai:base_url=http://127.0.0.1:9/v1")
    monkeypatch.delenv("QX_UNSET_KEY", raising=False)
    with pytest.raises(QxError, match="environment variable QX_UNSET_KEY"):
        make_policy("openai:base_url=http://127.0.0.1:9/v1,model=m,api_key_env=QX_UNSET_KEY")


def test_qx_extract_takes_the_openai_policy(endpoint, tmp_path):
    spec = f"openai:base_url={endpoint.url},model=tiny-chat,api_key_env=QX_TEST_KEY,cache={tmp_path / 'c'}"
    done = subprocess.run([sys.executable, "-m", "qx_env", "extract", "--policy", spec, TEXTS[1]], check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "二手" in done.stdout and "自行车" in done.stdout
    assert SECRET not in done.stdout + done.stderr


# ---- an endpoint that misbehaves on purpose ---------------------------------------------------------


def test_a_200_with_a_body_that_is_not_json_names_the_url(endpoint, tmp_path):
    endpoint.garbage_json = True
    with pytest.raises(QxError, match=rf"^OpenAI-compatible endpoint {endpoint.url} answered something that is not "
                                      r"a chat completion \(JSONDecodeError: Expecting value"):
        policy(endpoint, tmp_path).extract(TEXTS[:1])
    assert len(endpoint.requests) == 1  # a body the client cannot read is not asked for again


@pytest.mark.filterwarnings("error:policy 'openai'")
def test_off_format_answers_are_counted_in_a_warning(endpoint, tmp_path):
    endpoint.off_format = True
    made = policy(endpoint, tmp_path)
    with pytest.warns(UserWarning, match=rf"3 of 3 answers from {endpoint.url} are not in the expected format "
                                         r"\('提取的风险排查关键词集合如下.*e\.g\. '我不知道'"):
        assert made.extract(TEXTS) == [[], [], []]
    with pytest.warns(UserWarning, match="4 of 4 answers so far"):
        assert made.candidates("另一条 报告", 2) == []
    made.candidates("第三条 报告", 2)  # candidates warn once per policy, not once per report
    assert (made.off_format, made.answered) == (5, 5)


def test_each_request_is_retried_on_its_own_against_a_flaky_endpoint(endpoint, tmp_path):
    """Two of every three requests answer 503: with the default retries every text still gets its answer."""
    endpoint.flaky = True
    texts = [f"商品 {i} 号 描述" for i in range(8)]
    assert policy(endpoint, tmp_path, concurrency=1).extract(texts) == [["商品", str(i)] for i in range(8)]
    assert len(endpoint.requests) == 3 * len(texts) and endpoint.answers == len(texts)
    endpoint.flaky, endpoint.fail_next = False, 6  # a burst of six 503s in a row is ridden out by default
    assert policy(endpoint, tmp_path).extract(["二手 自行车 九成新"]) == [["二手", "自行车"]]


def test_back_off_doubles_with_jitter_is_capped_and_follows_retry_after(endpoint, tmp_path):
    made = policy(endpoint, tmp_path, backoff=1)
    assert 2.0 <= made._delay(3) <= 4.0 and made._delay(12) <= 30.0
    assert made._delay(1, "2") == 2.0 and made._delay(1, "3600") == 30.0
    assert 0.5 <= made._delay(1, "Wed, 21 Oct 2015 07:28:00 GMT") <= 1.0  # an HTTP date: back-off as usual


def test_a_run_that_fails_keeps_every_answer_and_a_rerun_asks_only_for_the_rest(endpoint, tmp_path):
    endpoint.dead_after = 5
    texts = [f"商品 {i} 号 描述" for i in range(12)]
    with pytest.raises(QxError, match=rf"^OpenAI-compatible endpoint {endpoint.url} failed: InternalServerError "
                                      rf"\(HTTP 503\).*\(2 attempts\); stopped asking; 5 of 12 answers are kept in "
                                      rf"{tmp_path / 'cache'} \(5 received this run\): run the same command again"):
        policy(endpoint, tmp_path, concurrency=3, retries=1).extract(texts)
    assert len(list((tmp_path / "cache").rglob("*.json"))) == endpoint.answers == 5
    endpoint.dead_after, asked = None, len(endpoint.requests)
    assert policy(endpoint, tmp_path, concurrency=3).extract(texts) == [["商品", str(i)] for i in range(12)]
    assert len(endpoint.requests) - asked == 7 and endpoint.answers == 12


def test_with_the_cache_off_a_failed_run_says_nothing_was_kept(endpoint, tmp_path):
    endpoint.dead_after = 1
    with pytest.raises(QxError, match=r"stopped asking; the 1 answers received this run are not kept \(cache=off\)"):
        policy(endpoint, tmp_path, concurrency=1, retries=0, cache="off").extract(TEXTS[:2])


def test_qx_eval_against_a_misbehaving_endpoint(endpoint, tmp_path, keyword_snapshot, capsys):
    """What a user sees from ``qx eval --policy openai:...``: a dying endpoint stops the run with the URL
    and how to resume; the rerun asks only for the rest, through a flaky endpoint, and warns (with a count)
    that the answers are off format instead of printing an all-zero table in silence."""
    reports = keyword_snapshot.reports_in("test").num_rows
    assert reports >= 4
    spec = (f"openai:base_url={endpoint.url},model=tiny-chat,api_key_env=QX_TEST_KEY,cache={tmp_path / 'c'},"
            "backoff=0.01,concurrency=1")
    argv = ["eval", str(keyword_snapshot.path), "--mode", "keyword", "--policy"]
    endpoint.dead_after, endpoint.off_format = 2, True
    assert main([*argv, spec + ",retries=1"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"qx: error: OpenAI-compatible endpoint {endpoint.url} failed") and "\n" not in error
    assert f"2 of {reports} answers are kept" in error and "run the same command again to resume" in error
    endpoint.dead_after, endpoint.flaky, asked = None, True, len(endpoint.requests)
    with pytest.warns(UserWarning, match=rf"{reports} of {reports} answers from {endpoint.url} are not in the "
                                         "expected format"):
        assert main([*argv, spec]) == 0
    assert "| hit@100 |" in capsys.readouterr().out
    assert endpoint.answers == reports  # the two kept answers were not asked for again
    assert len(endpoint.requests) - asked <= 3 * (reports - 2)
