"""Explore-v0 as a TRL ``environment_factory``: ``GRPOTrainer(environment_factory=...)`` makes one
:class:`SearchEnvironment` per rollout, whose :meth:`~SearchEnvironment.search` method is the model's
tool, ``reset(**row)`` starts an episode on a dataset row's report, and ``get_reward()`` scores the
episode with the env's reward terms (:mod:`qx_env.rewards`, the ``ExploreEnv(reward=...)`` specs).

Instances are cheap and picklable: they hold options only. The snapshot and the search system are
opened on first use and shared by every instance of a process with the same search options, while
each instance keeps its own removal state (:class:`qx_env.envs.IsolatedEpisode`). Every
reset starts from the snapshot with the reported items taken down and an auditor seeded from the
report id, so the rollouts of one group start alike.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from qx_env.envs import IsolatedEpisode
from qx_env.errors import QxError

#: What the model is told, before the report that ``reset`` appends.
TOOL_INSTRUCTIONS = {
    "zh": "你是一个内容安全专家。用 search 工具在平台上搜索与下面被举报商品相似的违规商品：每次调用搜索一个关键词，"
          "返回曝光的商品数、其中检出的违规商品数和剩余的搜索次数。",
    "en": "You are a content safety expert. Use the search tool to find listings on the platform like the reported "
          "one below: each call searches one query and returns how many items it exposed, how many of them were "
          "detected as violations and how many searches are left.",
}
REPORT_PREFIXES = {"zh": "\n\n被举报的商品：", "en": "\n\nThe reported listing: "}
#: The first line of the tool's answer to a search; the texts of the first results follow, one a line.
ANSWER_HEAD = "{query!r}: {exposed} items exposed, {toxic} detected as violations; {left} search(es) left."


def tool_rows(snapshot, split: str | Sequence[str] = "train") -> list[dict[str, Any]]:
    """Dataset rows for :class:`SearchEnvironment`: the tool instruction as the prompt and the report id
    (the report text itself comes from ``reset``), one per report of ``split`` (split names, or one
    name: see :func:`qx_env.flags.name_list`)."""
    from qx_env.snapshot import Snapshot

    snapshot = snapshot if isinstance(snapshot, Snapshot) else Snapshot.load(snapshot)
    instruction = TOOL_INSTRUCTIONS[snapshot.language]
    return [{"prompt": [{"role": "user", "content": instruction}], "report_id": report_id}
            for report_id in snapshot.reports_in(split).column("report_id").to_pylist()]


def tool_texts(language: str) -> list[str]:
    """The search tool's conversation as Qwen2.5's chat template (trl's copy, the tiny model's default)
    renders it: the tools block, the instruction, a call, the tool's answer and a final answer, around
    placeholders where reports and queries go, one text per turn without the ChatML markers (a tokenizer's
    special tokens). A tokenizer trained on copies of it beside a snapshot's texts (``qx model tiny
    --tool-texts``) spends few tokens on the tool prompt."""
    from transformers.utils.chat_template_utils import render_jinja_template
    from trl.chat_template_utils import qwen2_5_chat_template

    from qx_env.parsers import format_answer

    if language not in TOOL_INSTRUCTIONS:
        raise QxError(f"no tool instruction for language {language!r}; choose from {', '.join(TOOL_INSTRUCTIONS)}")
    call = {"type": "function", "function": {"name": "search", "arguments": {"query": "..."}}}
    conversation = [
        {"role": "user", "content": TOOL_INSTRUCTIONS[language] + REPORT_PREFIXES[language] + "..."},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "name": "search", "content": ANSWER_HEAD.format(query="...", exposed=0, toxic=0, left=0)
                                                      + "\n1. ..."},
        {"role": "assistant", "content": format_answer(["..."], language)},
    ]
    rendered = render_jinja_template([conversation], tools=SearchEnvironment.tool_schemas(),
                                     chat_template=qwen2_5_chat_template)[0][0]
    return [piece for piece in re.split(r"<\|im_(?:start|end)\|>", rendered) if piece.strip()]


class SearchEnvironment:
    """One rollout's episode of Explore-v0 for ``trl.GRPOTrainer(environment_factory=...)``.

    ``snapshot``: a snapshot directory. ``modes``, ``k``, ``candidates``, ``ranker``, ``match``: the search
    system; ``budget``, ``reward``, ``dynamics``, ``split``: the episode, as in ``ExploreEnv``.
    ``observe_results``: item texts shown per search (cut to ``result_chars``). ``seed``: mixed with the
    report id into the auditor's seed. Make the zero-argument factory with :meth:`factory`.
    """

    def __init__(self, snapshot: str | os.PathLike, modes: str | Sequence[str] = "keyword", k: int = 100,
                 candidates: int | None = None, ranker: str = "retrieval", match: str = "exact", budget: int = 5,
                 reward: str = "new_toxic", dynamics: str | Mapping[str, Any] = "removal",
                 split: str | Sequence[str] = "train", observe_results: int = 3, result_chars: int = 200,
                 seed: int = 0, build: bool = False) -> None:
        self._episode = IsolatedEpisode(snapshot, modes=modes, k=k, candidates=candidates, ranker=ranker,
                                        match=match, build=build, seed=seed, budget=budget, reward=reward,
                                        dynamics=dynamics, split=split, observe_results=observe_results)
        self.result_chars = result_chars
        self._reward = 0.0
        self._budget = 0
        self._done = True

    @classmethod
    def factory(cls, snapshot: str | os.PathLike, **options: Any):
        """A picklable zero-argument callable making instances with these options (checked now)."""
        import functools

        cls(snapshot, **options)
        return functools.partial(cls, snapshot, **options)

    @classmethod
    def tool_schemas(cls) -> list[dict[str, Any]]:
        """The JSON schemas of the tools, as trl renders them into the prompt: the public methods besides
        ``reset`` and ``get_reward`` (the ones ``GRPOTrainer`` picks), through transformers' ``get_json_schema``.
        SFT rows carry them (:func:`training.tool_call_rows`), so SFT sees the prompt GRPO renders."""
        import inspect

        from transformers.utils import get_json_schema

        bare = cls.__new__(cls)  # bound methods, as trl passes them: no self in the schema, no snapshot opened
        return [get_json_schema(getattr(bare, name)) for name, _ in inspect.getmembers(cls, predicate=inspect.isfunction)
                if name not in ("reset", "get_reward") and not name.startswith("_")]

    def reset(self, **row: Any) -> str:
        """Start an episode on ``row["report_id"]`` from the snapshot (the reported items taken down);
        returns the report, which the trainer appends to the prompt. Under adaptive dynamics the instance is
        one platform run and the episode is the next report it files (the row's report id is not used)."""
        if self._episode.adaptive:
            observation, _ = self._episode.reset()
        else:
            if "report_id" not in row:
                raise QxError(f"a SearchEnvironment row needs a report_id column; the row has {sorted(row)}")
            observation, _ = self._episode.reset(report_id=row["report_id"])
        self._reward, self._budget, self._done = 0.0, observation["budget"], False
        return REPORT_PREFIXES[self._episode.env.snapshot.language] + observation["report"]

    def search(self, query: str) -> str:
        """Search the platform for one query and see what it exposed.

        Args:
            query: The search keywords, e.g. a phrase from the reported listing.

        Returns:
            How many items the query exposed, how many of them were detected as violations, the
            searches left and the texts of the first results.
        """
        if not self._episode.started:
            raise QxError("no episode has started: the trainer calls reset(**row) before the tools")
        if not isinstance(query, str):
            raise QxError(f"the search query must be a string, got {type(query).__name__} {query!r}")
        if self._done:
            return "No searches are left in this episode."
        observation, reward, terminated, truncated, _ = self._episode.step(query)
        self._reward += reward
        self._done = terminated or truncated
        searched, self._budget = observation["budget"] < self._budget, observation["budget"]
        if not searched:
            return f"{query!r} has nothing to search; {self._budget} search(es) left."
        last = observation["history"][-1]
        head = ANSWER_HEAD.format(query=last["query"], exposed=last["exposed"], toxic=last["toxic"],
                                  left=observation["budget"])
        lines = [head]
        lines += [f"{rank}. {text[: self.result_chars]}" for rank, text in
                  enumerate(observation.get("results", ()), start=1)]
        return "\n".join(lines)

    def get_reward(self) -> float:
        """The episode's reward: the sum of its steps' rewards under the env's reward terms."""
        return float(self._reward)
