"""verifiers' own evaluation of the ``qx-explore`` taskset (verifiers 0.4, ``import verifiers.v1 as vf``):
``vf-eval`` run as a subprocess, as a user runs it, against a real OpenAI-compatible server on 127.0.0.1
that answers each report with a ``search`` tool call and then an answer. The reward in the results is
the env's: the same as ``ExploreEnv`` gives the same query on the same report (non-zero for a query that
finds toxic items, zero for one that finds nothing), and the model never sees a label or an item id."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# found, not imported: importing verifiers.v1 takes seconds, and every xdist worker collects this file
if importlib.util.find_spec("verifiers") is None or importlib.util.find_spec("verifiers.v1") is None:
    pytest.skip("verifiers >= 0.4 (verifiers.v1) is not installed", allow_module_level=True)

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from qx_env.adapters.server import ServerThread
from qx_env.envs import ExploreEnv
from qx_env.parsers import format_answer
from qx_env.search import AuditedSearch, SearchSystem

ROOT = Path(__file__).resolve().parents[2]
SPLIT = "test"  # not the TRL environment's default (train): the taskset's split must reach the tool server
MISS = "不存在的词语"  # no item has it: exposes nothing


def vf_eval() -> str:
    path = Path(sys.executable).with_name("vf-eval")
    if not path.is_file():
        pytest.fail(f"verifiers is installed but its vf-eval script is not beside {sys.executable}")
    return str(path)


def eval_environment(tmp_path: Path) -> dict[str, str]:
    """vf-eval's environment: the endpoint's key, a private home (verifiers keeps its runtimes under
    ~/.cache/verifiers) and this checkout's ``qx_explore`` on the path (even before ``make install`` installs it)."""
    shim = ROOT / "qx_env" / "adapters" / "qx-explore"
    return {**os.environ, "QX_TEST_KEY": "sk-loopback", "HOME": str(tmp_path / "home"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), str(shim), os.environ.get("PYTHONPATH")]))}


@pytest.fixture(scope="module")
def hit(snapshot) -> str:
    """An annotated phrase that exposes toxic items besides the reported ones."""
    known = [snapshot.position_of[i] for i in snapshot.reports_in(SPLIT).column("item_id").to_pylist()]
    audit = AuditedSearch(SearchSystem(snapshot), "static", known=known)
    phrases = sorted({p for row in snapshot.reports.column("annotations").to_pylist() for p in row})
    return max(phrases, key=lambda p: (audit.run(p).toxic_hits, p))


class Model:
    """A chat-completions endpoint: for each report, two ``search`` calls with the query planned for it
    (the second finds nothing new: its toxic items were removed), then a final answer in the paper's format."""

    def __init__(self, plan: dict[str, str]) -> None:
        self.plan = plan  # report text -> query
        self.requests: list[dict] = []

    def reply(self, body: dict) -> dict:
        messages = body["messages"]
        prompt = next(m["content"] for m in messages if m["role"] == "user")
        query = next(q for text, q in self.plan.items() if prompt.endswith(text))
        if sum(m["role"] == "tool" for m in messages) < 2:
            call = {"id": f"call_{len(self.requests)}", "type": "function",
                    "function": {"name": "search", "arguments": json.dumps({"query": query}, ensure_ascii=False)}}
            return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        return {"role": "assistant", "content": format_answer([query], "zh")}, "stop"

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request):
            body = await request.json()
            self.requests.append(body)
            message, finish = self.reply(body)
            head = {"id": f"chatcmpl-{len(self.requests)}", "created": 0, "model": body["model"]}
            usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
            if not body.get("stream"):
                return {**head, "object": "chat.completion", "usage": usage,
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
            # server-sent events, as the chat loop of verifiers' harness asks for
            delta = {**message, "tool_calls": [{"index": 0, **c} for c in message.get("tool_calls", ())]}
            chunks = [{"index": 0, "delta": {k: v for k, v in delta.items() if v}, "finish_reason": None},
                      {"index": 0, "delta": {}, "finish_reason": finish}]
            events = [{**head, "object": "chat.completion.chunk", "choices": [c]} for c in chunks]
            events.append({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage})
            text = "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events) + "data: [DONE]\n\n"
            return StreamingResponse(iter([text]), media_type="text/event-stream")

        return app


def test_vf_eval_scores_rollouts_with_the_envs_reward(snapshot, hit, tmp_path):
    reports = snapshot.reports_in(SPLIT)
    ids, texts = reports.column("report_id").to_pylist()[:2], snapshot.report_texts(reports)[:2]
    model = Model({texts[0]: hit, texts[1]: MISS})
    expected = {}
    for report_id, query in zip(ids, (hit, MISS)):
        env = ExploreEnv(snapshot.path, dynamics="removal", split=SPLIT, budget=3, build=False)
        env.reset(options={"report_id": report_id})
        expected[report_id] = [env.step(query)[1] for _ in range(2)]
    assert expected[ids[0]][0] > 0 and expected[ids[0]][1] == 0 and expected[ids[1]] == [0, 0]

    with ServerThread(model.app()) as server:
        run = subprocess.run(
            [vf_eval(), "qx-explore", "--env.taskset.snapshot", str(snapshot.path), "--env.taskset.split", SPLIT,
             "--env.taskset.tools.budget", "3", "-n", "2", "-r", "2", "--model", "loopback-chat",
             "--client.base-url", server.url + "/v1", "--client.api-key-var", "QX_TEST_KEY",
             "--no-push", "--no-rich", "-o", str(tmp_path / "outputs"), "--run.name", "qx"],
            env=eval_environment(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stderr[-4000:] + run.stdout[-2000:]
    log = (tmp_path / "outputs" / "qx" / "logs" / "attempt_1" / "eval.log").read_text()

    traces = [json.loads(line) for line in (tmp_path / "outputs" / "qx" / "traces.jsonl").read_text().splitlines()]
    assert all(t["ok"] for t in traces), ([t["traces"][0]["errors"] for t in traces], log[-3000:])
    # two rollouts of each report, each its own episode: both find the hit's items (removals stay per rollout)
    rewards = sorted((t["task"]["data"]["report_id"], t["traces"][0]["rewards"]["explore"]["score"]) for t in traces)
    assert rewards == [(ids[0], pytest.approx(sum(expected[ids[0]])))] * 2 + [(ids[1], 0.0)] * 2
    assert [t["traces"][0]["metrics"]["searches"] for t in traces] == [2] * 4
    assert [t["traces"][0]["metrics"]["tool_errors"] for t in traces] == [0] * 4
    # the model was offered the search tool, got the env's answers to its calls, and saw no id or label
    assert {t["function"]["name"] for r in model.requests for t in r.get("tools", ())} == {"search"}
    answers = [r["messages"][-1]["content"] for r in model.requests if r["messages"][-1]["role"] == "tool"]
    assert len(answers) == 8 and all("items exposed" in str(a) for a in answers)
    assert sum("2 search(es) left" in str(a) for a in answers) == sum("1 search(es) left" in str(a) for a in answers) == 4
    seen = json.dumps(model.requests, ensure_ascii=False)
    assert not any(item_id in seen for item_id in snapshot.ids) and '"label"' not in seen


def test_tasks_are_the_reports_with_the_trl_environments_prompt(snapshot):
    from qx_env.adapters import QxExploreConfig, QxExploreTaskset
    from training import SearchEnvironment, tool_rows

    tasks = list(QxExploreTaskset(QxExploreConfig(snapshot=snapshot.path, split="dev,test")))
    rows = tool_rows(snapshot.path, "dev,test")
    assert [t.data.report_id for t in tasks] == [r["report_id"] for r in rows] and len(tasks) > 1
    environment = SearchEnvironment(snapshot.path, split="dev,test")
    for task, row in list(zip(tasks, rows))[:3]:  # the prompt TRL's GRPOTrainer renders: instruction + reset()
        assert task.data.prompt == row["prompt"][0]["content"] + environment.reset(**row)
    wire = json.dumps([t.data.model_dump(mode="json") for t in tasks], ensure_ascii=False)
    assert not any(item_id in wire for item_id in snapshot.ids) and "label" not in wire


def test_bad_settings_are_refused_with_one_clear_error(snapshot, tmp_path):
    from pydantic import ValidationError

    from qx_env import QxError
    from qx_env.adapters import QxExploreConfig, QxExploreTaskset, QxSearchConfig

    with pytest.raises(ValidationError, match="unknown reward term"):
        QxSearchConfig(reward="new_toxic+nope")
    with pytest.raises(ValidationError, match=r"candidates \(10\) must be at least k \(20\)"):
        QxSearchConfig(k=20, candidates=10)  # the search settings' own check
    with pytest.raises(ValidationError, match="not adaptive.*ExploreEnv"):
        QxSearchConfig(dynamics="adaptive")
    with pytest.raises(ValidationError, match="unknown retrieval mode 'sparse'"):
        QxSearchConfig(modes="sparse")
    with pytest.raises(ValidationError, match="a split is one of train, dev, test"):
        QxExploreConfig(snapshot=snapshot.path, split="validation")
    with pytest.raises(ValidationError, match="not a saved snapshot"):
        QxExploreConfig(snapshot=tmp_path)
    with pytest.raises(QxError, match="--env.taskset.snapshot"):
        list(QxExploreTaskset(QxExploreConfig()))
    config = QxExploreConfig(snapshot=snapshot.path, split="dev", tools={"budget": 2})
    assert config.tools.snapshot == str(snapshot.path.resolve()) and config.tools.budget == 2
    assert config.tools.environment_options()["split"] == "dev"


def test_verifiers_openenv_taskset_plays_the_openenv_server(snapshot, hit, tmp_path):
    """verifiers' own OpenEnv taskset (its ``GenericEnvClient`` from the ``openenv`` package) against
    qx's OpenEnv server: every episode used to fail with ``'GenericEnvClient' object has no attribute
    '_base_url'`` on openenv-core 0.3. Its config is given as a file: verifiers 0.4 validates a taskset
    from its id alone when the options are flags, and its OpenEnv config refuses that."""
    from qx_env.adapters.openenv import create_openenv_app

    report_id = snapshot.reports_in(SPLIT).column("report_id")[0].as_py()
    env = ExploreEnv(snapshot.path, dynamics="removal", split=SPLIT, budget=2, build=False)
    env.reset(options={"report_id": report_id})
    expected = [env.step(hit)[1] for _ in range(2)]

    class Actions(Model):  # OpenEnv's route wants the action as JSON in the reply, no tool call
        def reply(self, body):
            return {"role": "assistant", "content": json.dumps({"query": hit}, ensure_ascii=False)}, "stop"

    model = Actions({})
    config = tmp_path / "openenv.toml"
    with (ServerThread(create_openenv_app(snapshot.path, split=SPLIT, budget=2)) as openenv,
          ServerThread(model.app()) as server):
        config.write_text(f'[env.taskset]\nid = "openenv"\nbase_url = "{openenv.url}"\n'
                          f'resets = [{{report_id = "{report_id}"}}]\n\n'
                          '[env.player]\nharness = {id = "qx-explore"}\nruntime = {type = "subprocess"}\n')
        run = subprocess.run(
            [vf_eval(), "@", str(config), "--model", "loopback-chat", "--client.base-url", server.url + "/v1",
             "--client.api-key-var", "QX_TEST_KEY", "--no-push", "--no-rich", "-o", str(tmp_path / "outputs"),
             "--run.name", "openenv"],
            env=eval_environment(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stderr[-4000:] + run.stdout[-2000:]
    [trace] = [json.loads(line) for line in (tmp_path / "outputs" / "openenv" / "traces.jsonl").read_text().splitlines()]
    assert trace["ok"], trace["traces"][0]["errors"]
    assert expected[0] > 0 and trace["traces"][0]["rewards"]["openenv_reward"]["score"] == pytest.approx(sum(expected))
    assert len(model.requests) == 2 and report_id in model.requests[0]["messages"][0]["content"]
