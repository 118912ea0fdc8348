"""``qx_env/Explore-v0``: one episode explores from one report by querying the search system.

Observation (a dict): ``report`` (the reported text), ``budget`` (queries left), ``history``
(this episode's queries with their exposed and toxic counts) and, with ``observe_results=n``,
``results`` (texts of the top n exposed items of the last query). Action: one query, a list of
queries, or a model answer in the paper's format. Reward: named terms with weights (see
:mod:`qx_env.rewards`), every term reported in ``info["reward_components"]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from indexes import MAX_QUERY_CHARS
from qx_env.envs._adaptive import AdaptiveClock, is_adaptive
from qx_env.envs._spaces import UnicodeText
from qx_env.errors import QxError
from qx_env.metrics import offline_metrics
from qx_env.parsers import has_answer_prefix, parse_answer, search_queries
from qx_env.rewards import Reward
from qx_env.search import AuditedSearch, Dynamics, SearchSettings, SearchSystem
from qx_env.snapshot import Snapshot
from qx_env.types import OfflineMetrics, QueryOutcome, StepOutcome

ACTION_FORMATS = ("auto", "query", "answer")
#: The keys ``reset(options=...)`` understands.
RESET_OPTIONS = ("report_id",)
MAX_TEXT = 100_000
MAX_HISTORY = 1000

Action = str | Sequence[str]


class ExploreEnv(gym.Env[dict, Action]):
    """Exploration from reported toxic items through a simulated search engine.

    ``snapshot`` is a directory or a :class:`Snapshot`; ``modes``, ``k``, ``candidates``, ``ranker``,
    ``match`` and ``build`` configure the :class:`SearchSystem` (or pass ``system`` to share one). ``budget``
    queries per episode (terminated when spent), ``max_steps`` steps (truncated). ``dynamics``:
    ``static``, ``removal``, ``delayed`` or a :class:`Dynamics`; ``persist`` keeps removals across
    episodes. ``adaptive`` (or ``{"kind": "adaptive", ...}`` with :class:`qx_env.online.OnlineConfig` fields):
    weeks online, episodes being the reports the platform files as its days go by and campaigns rewording what
    queries take down (:mod:`qx_env.envs._adaptive`; reset with a seed starts a run on that seed's timeline).
    ``action_format``: ``auto`` (a string with the answer prefix is an answer, else one query), ``query`` or
    ``answer`` (strings must be answers; a malformed one earns the format penalty).
    ``hide_reported``: the split's reported items are already known and taken down, so a query
    that only finds its own report earns nothing (as on the platform).
    """

    metadata: ClassVar[dict] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, snapshot: str | os.PathLike | Snapshot, modes: str | Sequence[str] = ("keyword",),
                 k: int = 100, candidates: int | None = None, ranker: str = "retrieval", match: str = "exact",
                 budget: int = 5, max_steps: int | None = None, reward: str | Mapping[str, float] = "new_toxic",
                 dynamics: str | Mapping[str, Any] | Dynamics = "static", persist: bool = False,
                 split: str | Sequence[str] = "test", observe_results: int = 0, action_format: str = "auto",
                 hide_reported: bool = True, system: SearchSystem | None = None,
                 render_mode: str | None = None, build: bool = True) -> None:
        if budget < 1:
            raise QxError(f"budget must be at least 1 query, got {budget}")
        if action_format not in ACTION_FORMATS:
            raise QxError(f"action_format must be one of {ACTION_FORMATS}, got {action_format!r}")
        if observe_results < 0:
            raise QxError(f"observe_results must be >= 0, got {observe_results}")
        self.snapshot = snapshot if isinstance(snapshot, Snapshot) else Snapshot.load(snapshot)
        #: Weeks online under adaptive dynamics (None otherwise); the items searched are then its world's.
        self.clock = AdaptiveClock(self.snapshot, dynamics, split) if is_adaptive(dynamics) else None
        if self.clock is not None:
            self.snapshot, dynamics = self.clock.world.snapshot, "removal"
        self._system = system
        #: How the env's search system searches (checked now; the system itself opens on first use).
        self.search_settings = system.settings if system is not None else SearchSettings(
            modes=modes, k=k, candidates=candidates, ranker=ranker, match=match, build=build)
        self._audit: AuditedSearch | None = None
        self.k = self.search_settings.k
        self.budget = budget
        self.max_steps = max_steps or budget
        self.reward_fn = Reward.parse(reward)
        self.dynamics = Dynamics.parse(dynamics).with_persist(persist)
        self.observe_results = observe_results
        self.action_format = action_format
        self.render_mode = render_mode
        self.reports = self.snapshot.reports_in(split)
        if self.reports.num_rows == 0:
            raise QxError(f"split {split!r} of {self.snapshot.meta.name} has no reports")
        self._report_ids = self.reports.column("report_id").to_pylist()
        self._report_texts = self.snapshot.report_texts(self.reports)
        self._report_index = {rid: i for i, rid in enumerate(self._report_ids)}
        reported = [self.snapshot.position_of[i] for i in self.reports.column("item_id").to_pylist()]
        self._known = reported if hide_reported else None

        history_item = spaces.Dict({"query": UnicodeText(MAX_QUERY_CHARS), "exposed": spaces.Discrete(self.k + 1),
                                    "toxic": spaces.Discrete(self.k + 1)})
        observation = {
            "report": UnicodeText(MAX_TEXT),
            "budget": spaces.Discrete(budget + 1),
            "history": spaces.Sequence(history_item, stack=False),
        }
        if observe_results:
            observation["results"] = spaces.Sequence(UnicodeText(MAX_TEXT), stack=False)
        self.observation_space = spaces.Dict(observation)
        self.action_space = UnicodeText(MAX_QUERY_CHARS, min_length=1)
        self._order: np.ndarray | None = None
        self._cursor = 0
        self._report: int | None = None
        self._done = True

    @property
    def system(self) -> SearchSystem:
        """The search system, opened on first use: an env made only to read its spaces (as
        ``AsyncVectorEnv`` does in the parent process) opens no index and starts no JVM."""
        if self._system is None:
            self._system = SearchSystem.from_settings(self.snapshot, self.search_settings)
        return self._system

    def share_system(self, system: SearchSystem) -> None:
        """Search through ``system`` (one over this env's snapshot with its search settings, e.g. shared by several
        episodes) from now on; before the first search."""
        if system.snapshot.fingerprint != self.snapshot.fingerprint:
            raise QxError("share_system needs a search system over this env's snapshot (under adaptive dynamics, its "
                          "world's)")
        if system.settings != self.search_settings:
            raise QxError(f"share_system needs a search system with this env's settings {self.search_settings}, got "
                          f"{system.settings}")
        if self._system is not None or self._audit is not None or self.clock is not None and self.clock.platform:
            raise QxError("share_system comes before the env's first search")
        self._system = system

    @property
    def audit(self) -> AuditedSearch:
        if self.clock is not None:
            if self.clock.platform is None:
                self.clock.restart(self.system, None)
            return self.clock.platform.audit
        if self._audit is None:
            self._audit = AuditedSearch(self.system, self.dynamics, known=self._known)
        return self._audit

    # ---- episode -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Start an episode on the next report of a seeded order over the split, or on
        ``options["report_id"]`` (the only option; others are refused)."""
        options = {} if options is None else options
        if not isinstance(options, Mapping):
            raise QxError(f"reset options must be a dict, got {type(options).__name__}")
        unknown = sorted(str(key) for key in options if key not in RESET_OPTIONS)
        if unknown:
            raise QxError(f"unknown reset option(s) {', '.join(map(repr, unknown))}; "
                          f"valid: {', '.join(RESET_OPTIONS)}")
        super().reset(seed=seed)
        if seed is not None or self._order is None:
            self._order = self.np_random.permutation(len(self._report_ids))
            self._cursor = 0
        report_id = options.get("report_id")
        if self.clock is not None:
            if report_id is not None:
                raise QxError("under adaptive dynamics the clock files the reports: reset takes no report_id")
            if seed is not None or self.clock.platform is None:
                self.clock.restart(self.system, seed)
            report_id, self._report_text = self.clock.next_report(self.system)
            self._report = self._report_index[report_id]
        elif report_id is not None:
            if report_id not in self._report_index:
                raise QxError(f"unknown report id {report_id!r} in this split")
            self._report = self._report_index[report_id]
        else:
            self._report = int(self._order[self._cursor % len(self._order)])
            self._cursor += 1
        if self.clock is None:
            self._report_text = self._report_texts[self._report]
            self.audit.reset(rng=self.np_random)
        self._remaining = self.budget
        self._steps = 0
        self._history: list[dict] = []
        self._last: QueryOutcome | None = None
        self._outcomes: list[QueryOutcome] = []
        self._totals = {"queries": 0, "toxic_hits": 0, "new_detections": 0, "effective_queries": 0}
        self._done = False
        return self._observation(), {"report_id": self._report_ids[self._report],
                                     "item_id": self.reports.column("item_id")[self._report].as_py()}

    def step(self, action: Action) -> tuple[dict, float, bool, bool, dict]:
        if self._report is None:
            raise QxError("no episode has started: call reset() before the first step")
        if self._done:
            raise QxError("the episode is over: call reset() before stepping again")
        queries, well_formed = self._queries(action)
        searched, dropped = queries[: self._remaining], max(0, len(queries) - self._remaining)
        outcomes = tuple(self._run(query) for query in searched)
        self.audit.tick()
        self._remaining -= len(searched)
        self._steps += 1
        step = StepOutcome(outcomes, self.k, well_formed, dropped)
        reward, components = self.reward_fn(step)
        terminated = self._remaining <= 0
        truncated = not terminated and self._steps >= self.max_steps
        self._done = terminated or truncated
        info = {
            "report_id": self._report_ids[self._report],
            "queries": [self._query_info(o) for o in outcomes],
            "reward_components": components,
            "well_formed": well_formed,
            "dropped_queries": dropped,
            "totals": dict(self._totals),
        }
        return self._observation(), float(reward), terminated, truncated, info

    # ---- helpers ---------------------------------------------------------------------------
    def _queries(self, action: Action) -> tuple[list[str], bool]:
        """The queries an action searches (see :func:`~qx_env.parsers.search_queries`: a query with
        nothing searchable, like ``""`` or ``"\\x00"``, is no query and spends no budget) and whether
        the action was well formed."""
        if isinstance(action, str):
            if self.action_format == "answer" or (self.action_format == "auto" and has_answer_prefix(action)):
                parsed = parse_answer(action)
                return search_queries(parsed.queries) if parsed.well_formed else [], parsed.well_formed
            return search_queries([action]), True
        if isinstance(action, (list, tuple)):
            bad = next(((i, q) for i, q in enumerate(action) if not isinstance(q, str)), None)
            if bad is None:
                return search_queries(action), True
            raise QxError(f"an action is a query string, a list of query strings or a model answer: element "
                          f"{bad[0]} of the {type(action).__name__} is {bad[1]!r} ({type(bad[1]).__name__})")
        raise QxError(
            f"an action is a query string, a list of query strings or a model answer, got {type(action).__name__}"
        )

    def episode_metrics(self) -> OfflineMetrics:
        """The paper's Table 5 row over this episode's queries so far."""
        return offline_metrics(self._outcomes, self.k)

    def _run(self, query: str) -> QueryOutcome:
        outcome = self.clock.run(query) if self.clock is not None else self.audit.run(query)
        self._last = outcome
        self._outcomes.append(outcome)
        self._history.append({"query": query[:MAX_QUERY_CHARS], "exposed": len(outcome.exposed),
                              "toxic": len(outcome.toxic)})
        totals = self._totals
        totals["queries"] += 1
        totals["toxic_hits"] += outcome.toxic_hits
        totals["new_detections"] += len(outcome.new)
        totals["effective_queries"] += int(outcome.effective)
        return outcome

    def _query_info(self, outcome: QueryOutcome) -> dict:
        ids = self.snapshot.ids
        return {
            "query": outcome.query,
            "exposed_ids": ids[outcome.exposed].tolist(),
            "toxic_hits": outcome.toxic_hits,
            "toxic_ids": ids[outcome.toxic].tolist(),
            "new_detections": len(outcome.new),
            "toxic_ratio": outcome.toxic_ratio,
            "hit_modes": {mode: n for mode, n in outcome.hit_modes().items() if mode in self.system.modes},
        }

    def _observation(self) -> dict:
        observation = {
            "report": self._report_text,
            "budget": int(self._remaining),
            "history": tuple(dict(h) for h in self._history[-MAX_HISTORY:]),
        }
        if self.observe_results:
            shown = self._last.exposed[: self.observe_results] if self._last is not None else []
            texts = self.snapshot.texts
            observation["results"] = tuple(texts[p] for p in shown)
        return observation

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._report is None:
            return None
        lines = [f"report {self._report_ids[self._report]}: {self._report_text[:200]}",
                 f"budget left {self._remaining}"]
        lines += [f"  {h['query']!r}: {h['exposed']} exposed, {h['toxic']} toxic" for h in self._history]
        return "\n".join(lines)
