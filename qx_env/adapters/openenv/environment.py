"""The server-side OpenEnv environment: one :class:`ExploreEnvironment` per session, each an
:class:`~qx_env.envs.IsolatedEpisode` (its own removal state over the process's shared
search system), so concurrent sessions never see each other's removals."""

from __future__ import annotations

import uuid
from typing import Any

from openenv.core.env_server.interfaces import Environment

from qx_env.adapters.openenv.models import ExploreAction, ExploreObservation, ExploreState
from qx_env.envs import IsolatedEpisode
from qx_env.errors import QxError


class NoEpisodeError(QxError):
    """A step before any reset (over plain HTTP: every ``/step``, whose environment is fresh)."""


class ExploreEnvironment(Environment[ExploreAction, ExploreObservation, ExploreState]):
    """Explore-v0 behind OpenEnv: ``reset(seed=, episode_id=, report_id=)`` and ``step(ExploreAction)``.

    ``snapshot`` and ``options``: as :class:`IsolatedEpisode` (search system and ``ExploreEnv`` options).
    """

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, snapshot: str, **options: Any) -> None:
        super().__init__()
        self.episode = IsolatedEpisode(snapshot, **options)
        self._state = ExploreState()

    def _observation(self, observation: dict, report_id: str, reward: float | None = None,
                     done: bool = False) -> ExploreObservation:
        return ExploreObservation(
            report_id=report_id, report=observation["report"], budget=observation["budget"],
            history=[dict(h) for h in observation["history"]], results=list(observation.get("results", ())),
            reward=reward, done=done)

    def reset(self, seed: int | None = None, episode_id: str | None = None, report_id: str | None = None,
              **_: Any) -> ExploreObservation:
        """Start an episode from the snapshot on ``report_id`` or the next report of the seeded order."""
        observation, info = self.episode.reset(report_id=report_id, seed=seed)
        self._state = ExploreState(episode_id=episode_id or uuid.uuid4().hex, step_count=0,
                                   report_id=info["report_id"], budget=observation["budget"])
        return self._observation(observation, info["report_id"])

    def step(self, action: ExploreAction, timeout_s: float | None = None, **_: Any) -> ExploreObservation:
        """Search the action's queries; the reward is the env's (its reward terms)."""
        if not isinstance(action, ExploreAction):
            raise QxError(f"an action is an ExploreAction, got {type(action).__name__}")
        if not self.episode.started:
            raise NoEpisodeError("no episode has started: reset before the first step")
        observation, reward, terminated, truncated, info = self.episode.step(action.query)
        state = self._state
        state.step_count += 1
        state.queries += len(info["queries"])
        state.budget = observation["budget"]
        state.total_reward += reward
        return self._observation(observation, state.report_id, reward=reward, done=terminated or truncated)

    @property
    def state(self) -> ExploreState:
        return self._state
