"""Explore-v0 as a native verifiers v1 environment (``import verifiers.v1 as vf``, verifiers 0.4): a
:class:`QxExploreTaskset` whose tasks are a snapshot's reports, a ``search`` tool that steps the env, and
a reward computed by the env with its reward terms (:mod:`qx_env.rewards`).

Each task's prompt is the TRL tool environment's (:class:`qx_env.adapters.SearchEnvironment`): its tool
instruction and the reported listing's text, nothing else (no label, no item id). The tool is that
environment's ``search`` too, served by one MCP tool server per evaluation (:class:`QxSearchToolset`) that
opens the snapshot and search system once and keeps one episode per rollout, each with its own removal
state (:class:`qx_env.envs.IsolatedEpisode`), so a query's reward is the env's reward of that rollout.

``vf-eval qx-explore`` finds this through the module ``qx_explore`` (verifiers imports a taskset id as a
top-level module), which the small distribution in ``qx_env/adapters/qx-explore/`` provides (``make install``
installs it); it also exports :class:`QxExploreEnv`, whose one agent runs on this machine
(verifiers' own default is a Prime sandbox), and :class:`QxExploreHarness`, verifiers' ``null`` chat loop
run with this Python (the stock one installs its packages with ``uv`` first)::

    vf-eval qx-explore --env.taskset.snapshot snapshots/demo-zh -n 5 \\
        --client.base-url http://127.0.0.1:8000/v1 --model qwen --no-push
"""

from __future__ import annotations

import hashlib
import sys
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import verifiers.v1 as vf
from pydantic import Field, field_validator, model_validator
from verifiers.v1.harnesses.null import NullHarness

from qx_env.errors import QxError
from qx_env.flags import name_list
from qx_env.rewards import Reward
from qx_env.search import SearchSettings

#: The report after the tool instruction, as :meth:`training.SearchEnvironment.reset` returns it.
REPORT_PREFIXES = {"zh": "\n\n被举报的商品：", "en": "\n\nThe reported listing: "}


class QxSearchConfig(vf.SharedToolsetConfig):
    """The search system and the episodes, as :class:`qx_env.adapters.SearchEnvironment`'s arguments
    (``--env.taskset.tools.*``); ``snapshot`` is filled from the taskset's."""

    snapshot: str = ""
    split: str = "test"
    """Filled from the taskset's: the split whose reports the episodes start on."""
    modes: str = "keyword"
    """The search settings (:class:`qx_env.search.SearchSettings`, checked by it): modes, k, candidates (default:
    the larger of k and 1,000), ranker, match."""
    k: int = Field(100, ge=1)
    candidates: int | None = Field(None, ge=1)
    ranker: str = "retrieval"
    match: str = "exact"
    budget: int = Field(5, ge=1)
    """Searches per rollout."""
    reward: str = "new_toxic"
    """Reward terms of :mod:`qx_env.rewards`, e.g. ``new_toxic+0.1*query_cost``."""
    dynamics: str = "removal"
    """static, removal or delayed; not adaptive: a task is a dataset row's report, and under adaptive
    dynamics the platform run files the reports (run those through ExploreEnv, OpenEnv or the TRL environment)."""
    observe_results: int = Field(3, ge=0)
    """Result texts shown per search."""
    result_chars: int = Field(200, ge=1)
    seed: int = 0
    max_episodes: int = Field(1024, ge=1)
    """Rollout episodes the tool server keeps (the least recently searched go first): at least the
    rollouts in flight (``--max-concurrent``, 128 by default)."""

    @field_validator("reward")
    @classmethod
    def _reward(cls, value: str) -> str:
        try:
            Reward.parse(value)
        except QxError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("dynamics")
    @classmethod
    def _dynamics(cls, value: str) -> str:
        from qx_env.envs import is_adaptive

        if is_adaptive(value.partition(":")[0]):
            raise ValueError("a verifiers task is a dataset row's report, so the taskset takes static, removal or "
                             "delayed dynamics, not adaptive (under it the platform run files the reports): train "
                             "against adapting sellers through ExploreEnv, the OpenEnv server or the TRL "
                             "SearchEnvironment")
        return value

    @model_validator(mode="after")
    def _search_settings(self) -> QxSearchConfig:
        try:
            SearchSettings(modes=self.modes, k=self.k, candidates=self.candidates, ranker=self.ranker, match=self.match)
        except QxError as exc:
            raise ValueError(str(exc)) from None
        return self

    def environment_options(self) -> dict[str, Any]:
        """The keyword arguments of :class:`qx_env.adapters.SearchEnvironment`."""
        return self.model_dump(include={"split", "modes", "k", "candidates", "ranker", "match", "budget", "reward",
                                        "dynamics", "observe_results", "result_chars", "seed"})


class QxSearchState(vf.State):
    """A rollout's episode, shared by the host and the tool server: never shown to the model."""

    episode: str = ""
    report_id: str = ""
    reward: float = 0.0
    """The episode's reward so far: the sum of its searches' rewards under the env's reward terms."""
    searches: int = 0
    """Tool calls answered."""
    errors: list[str] = Field(default_factory=list)
    """Tool calls refused, with the reason (the model gets it as the tool's answer too)."""


class QxSearchToolset(vf.Toolset[QxSearchConfig, QxSearchState]):
    """The ``search`` tool over Explore-v0: one process per evaluation, one episode per rollout."""

    TOOL_PREFIX = None  # the tool is "search", as in the TRL environment

    def __init__(self, config: QxSearchConfig) -> None:
        super().__init__(config)
        self._episodes: OrderedDict[str, Any] = OrderedDict()
        self._evicted: set[str] = set()
        self._factory = None

    async def setup(self) -> None:
        from qx_env.adapters.trl import SearchEnvironment

        self._factory = SearchEnvironment.factory(self.config.snapshot, **self.config.environment_options())

    def _episode(self, state: QxSearchState):
        if not state.episode or not state.report_id:
            raise QxError("this tool call belongs to no qx-explore rollout (its state names no report)")
        if state.episode in self._evicted:
            raise QxError(f"the episode of this rollout was dropped: more than {self.config.max_episodes} "
                          f"rollouts at once; raise --env.taskset.tools.max-episodes")
        environment = self._episodes.get(state.episode)
        if environment is not None:
            self._episodes.move_to_end(state.episode)
        else:
            environment = self._factory()
            environment.reset(report_id=state.report_id)
            self._episodes[state.episode] = environment
            while len(self._episodes) > self.config.max_episodes:
                self._evicted.add(self._episodes.popitem(last=False)[0])
        return environment

    @vf.tool
    def search(self, query: str) -> str:
        state = self.state
        try:
            environment = self._episode(state)
            answer = environment.search(query)
        except QxError as exc:  # answered, not raised: the state (with the error) is pushed back only on return
            state.errors.append(str(exc))
            return f"error: {exc}"
        state.reward = environment.get_reward()
        state.searches += 1
        return answer


def _tool_description() -> str:
    import inspect

    from qx_env.adapters.trl import SearchEnvironment

    return inspect.cleandoc(SearchEnvironment.search.__doc__)


QxSearchToolset.search.__doc__ = _tool_description()


class QxExploreData(vf.TaskData):
    """A report to explore from: its id (the episode starts on it) and language."""

    report_id: str
    language: str


class QxExploreTask(vf.Task[QxExploreData, QxSearchState]):
    async def setup(self, trace: vf.Trace, runtime: vf.Runtime) -> None:
        trace.state.episode = trace.id
        trace.state.report_id = self.data.report_id

    @vf.reward(weight=1.0)
    async def explore(self, trace: vf.Trace) -> float:
        """The env's reward of the rollout's searches (the tool server computed it)."""
        return float(trace.state.reward)

    @vf.metric
    async def searches(self, trace: vf.Trace) -> float:
        return float(trace.state.searches)

    @vf.metric
    async def tool_errors(self, trace: vf.Trace) -> float:
        """Searches the tool server refused (their reasons are in the trace's ``info["qx_errors"]``)."""
        if trace.state.errors:
            trace.info["qx_errors"] = list(trace.state.errors)
        return float(len(trace.state.errors))


class QxExploreConfig(vf.TasksetConfig):
    """``--env.taskset.snapshot DIR`` (a saved snapshot with its indexes built), ``--env.taskset.split``
    (report splits, e.g. ``test`` or ``train,dev``) and the search options under ``--env.taskset.tools.*``."""

    snapshot: Path | None = None
    """Required; optional here only because verifiers first builds the config from its id alone."""
    split: str = "test"
    tools: QxSearchConfig = QxSearchConfig()

    @field_validator("split")
    @classmethod
    def _split(cls, value: str) -> str:
        from qx_env.snapshot import SPLITS

        unknown = [name for name in name_list(value) if name not in SPLITS]
        if unknown or not name_list(value):
            raise ValueError(f"unknown split(s) {unknown or value!r}: a split is one of {', '.join(SPLITS)}")
        return value

    @model_validator(mode="after")
    def _snapshot(self) -> QxExploreConfig:
        if self.snapshot is None:
            return self
        path = self.snapshot.expanduser().resolve()
        if not (path / "meta.json").is_file():
            raise ValueError(f"{self.snapshot} is not a saved snapshot (no meta.json); make one with "
                             f"`qx corpus synth` and build its indexes with `qx index build`")
        self.snapshot = path
        self.tools = self.tools.model_copy(update={"snapshot": str(path), "split": self.split})
        return self


def _need_snapshot(config: QxExploreConfig) -> None:
    if config.snapshot is None:
        raise QxError("qx-explore needs a snapshot: pass --env.taskset.snapshot DIR (a saved snapshot with its "
                      "indexes built, e.g. from `qx corpus synth` and `qx index build`)")


class QxExploreTaskset(vf.Taskset[QxExploreTask, QxExploreConfig]):
    """One task per report of the split, in the snapshot's order."""

    @classmethod
    def toolsets(cls, config: QxExploreConfig) -> list[vf.Toolset]:
        _need_snapshot(config)
        return [QxSearchToolset(config.tools)]

    def load(self) -> Iterator[QxExploreTask]:
        from qx_env.adapters.trl import tool_rows
        from qx_env.snapshot import Snapshot

        _need_snapshot(self.config)
        snapshot = Snapshot.load(self.config.snapshot)
        reports = snapshot.reports_in(self.config.split)
        if not reports.num_rows:
            raise QxError(f"split {self.config.split!r} of {self.config.snapshot} has no reports")
        texts = snapshot.report_texts(reports)
        prefix = REPORT_PREFIXES[snapshot.language]
        for row, text in zip(tool_rows(snapshot, self.config.split), texts):
            instruction = row["prompt"][0]["content"]
            data = QxExploreData(id=row["report_id"], name=row["report_id"], report_id=row["report_id"],
                                 language=snapshot.language, prompt=instruction + prefix + text)
            yield QxExploreTask(data, self.config.task)


class QxExploreHarness(NullHarness):
    """verifiers' ``null`` harness (a chat loop with the task's MCP tools) run with this Python, which has
    its packages already: the stock one first installs them into a ``uv`` script environment. In a
    container runtime it is the stock harness."""

    async def setup(self, runtime: vf.Runtime) -> None:
        if runtime.type != "subprocess":
            await super().setup(runtime)

    async def launch(self, ctx, trace, runtime, endpoint, secret, mcp_urls, data, tool_interception_url=None):
        host = _HostPython(runtime) if runtime.type == "subprocess" else runtime
        return await super().launch(ctx, trace, host, endpoint, secret, mcp_urls, data,
                                    tool_interception_url=tool_interception_url)


class _HostPython:
    """A subprocess runtime whose PEP 723 scripts run with this interpreter, without ``uv``."""

    def __init__(self, runtime) -> None:
        self._runtime = runtime

    def __getattr__(self, name: str):
        return getattr(self._runtime, name)

    async def prepare_uv_script(self, script: str | bytes, env: dict[str, str] | None = None, *,
                                activate: bool = True) -> list[str]:
        data = script.encode() if isinstance(script, str) else script
        path = f".qx-chat-{hashlib.sha256(data).hexdigest()[:16]}.py"
        await self._runtime.write(path, data)
        return [sys.executable, str(Path(self._runtime.workdir) / path)]


class QxExploreEnvConfig(vf.SingleAgentEnvConfig):
    """The one agent runs in a subprocess on this machine by default (``--env.agent.runtime.type``)."""

    agent: vf.AgentConfig = vf.AgentConfig(runtime=vf.SubprocessConfig())


class QxExploreEnv(vf.Env[QxExploreEnvConfig]):
    """verifiers' single-agent env with a local default runtime."""

    async def run(self, task: vf.Task, agents: vf.Agents) -> None:
        await agents.agent.run(task)


__all__ = ["QxExploreConfig", "QxExploreData", "QxExploreEnv", "QxExploreEnvConfig", "QxExploreHarness",
           "QxExploreTask", "QxExploreTaskset", "QxSearchConfig", "QxSearchState", "QxSearchToolset"]


if __name__ == "__main__":  # verifiers starts the tool server as `python -m qx_env.adapters.verifiers`
    QxSearchToolset.run()
