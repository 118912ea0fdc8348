"""Explore-v0 episodes with their own removal state over a search system shared by the process:
what an OpenEnv session and a TRL rollout each need. The snapshot and the search system open on first
use (one per snapshot and search options) and never travel in a pickle; each episode keeps its
live-item mask and auditor, swapped into the shared system under a lock around every call.

Under adaptive dynamics an :class:`IsolatedEpisode` is one platform run of its own (weeks online over the
world of dormant versions, :mod:`qx_env.envs._adaptive`): its resets are the reports that run files, in
order, and its takedowns and its sellers' rewordings last across them; the search system over the world is
shared as for any snapshot, each run's live mask swapped in around its calls."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qx_env.envs._adaptive import is_adaptive
from qx_env.envs._explore import ExploreEnv
from qx_env.errors import QxError
from qx_env.flags import name_list
from qx_env.rewards import Reward
from qx_env.search import Dynamics, SearchSettings, SearchSystem
from qx_env.snapshot import Snapshot

_BACKENDS: dict[tuple, tuple[Any, Any, threading.Lock]] = {}
_BACKENDS_LOCK = threading.Lock()
#: Held while an adaptive episode's env writes or reads its world (one writer of a world directory at a time).
_WORLDS_LOCK = threading.Lock()


def shared_backend(snapshot: str, settings: SearchSettings) -> tuple[Any, Any, threading.Lock]:
    """The snapshot, search system and lock shared in this process by episodes with these settings."""
    key = (snapshot, settings)
    with _BACKENDS_LOCK:
        if key not in _BACKENDS:
            loaded = Snapshot.load(snapshot)
            _BACKENDS[key] = (loaded, SearchSystem.from_settings(loaded, settings), threading.Lock())
        return _BACKENDS[key]


def report_seed(seed: int, report_id: str) -> int:
    """The episode seed of a report: every episode on one report draws alike (a GRPO group)."""
    digest = hashlib.sha256(f"{seed}:{report_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


class IsolatedEpisode:
    """``ExploreEnv`` with its own removal state over the process's shared search system.

    ``snapshot``: a saved snapshot directory (or a loaded one with a path). ``modes`` and ``split`` are
    names, or one string of them (see :func:`qx_env.flags.name_list`). ``modes``, ``k``,
    ``candidates``, ``ranker``, ``match``, ``build``: the shared :class:`SearchSystem`; ``env_options``:
    the rest of ``ExploreEnv``'s arguments (``budget``, ``reward``, ``dynamics``, ``split``, ...),
    checked here. ``seed``: mixed with the report id into each episode's seed; under adaptive dynamics, the
    timeline of the run until a reset names another seed.
    """

    def __init__(self, snapshot: str | os.PathLike, modes: str | Sequence[str] = "keyword", k: int = 100,
                 candidates: int | None = None, ranker: str = "retrieval", match: str = "exact", build: bool = False,
                 seed: int = 0, **env_options: Any) -> None:

        path = getattr(snapshot, "path", snapshot)
        if path is None:
            raise QxError("an episode server needs a saved snapshot (a directory): save it first")
        if env_options.get("budget", 1) < 1:
            raise QxError(f"budget must be at least 1 query, got {env_options['budget']}")
        if "split" in env_options:
            env_options["split"] = name_list(env_options["split"])
        Reward.parse(env_options.get("reward", "new_toxic"))  # refused now, not in the middle of a rollout
        #: Whether this is a platform run of its own (adaptive dynamics): its resets continue the run.
        self.adaptive = is_adaptive(env_options.get("dynamics"))
        if not self.adaptive:
            Dynamics.parse(env_options.get("dynamics", "static"))
        self.snapshot = str(Path(path).resolve())
        #: The shared search system's settings (:class:`SearchSettings`, checked now).
        self.search_settings = SearchSettings(modes=modes, k=k, candidates=candidates, ranker=ranker, match=match,
                                              build=build)
        self.env_options = env_options
        self.seed = seed
        self._env = None
        self._alive: np.ndarray | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_env": None, "_alive": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def _backend(self):
        if self.adaptive:
            return self._adaptive_backend()
        snapshot, system, lock = shared_backend(self.snapshot, self.search_settings)
        if self._env is None:
            self._env = ExploreEnv(snapshot, system=system, **self.env_options)
        return system, lock

    def _adaptive_backend(self):
        """The env of this run (its world built or reused) searching through the system shared over the world."""
        if self._env is None:
            with _WORLDS_LOCK:
                settings = self.search_settings
                env = ExploreEnv(self.snapshot, modes=settings.modes, k=settings.k, candidates=settings.candidates,
                                 ranker=settings.ranker, match=settings.match, build=settings.build,
                                 **self.env_options)
            env.share_system(shared_backend(str(env.snapshot.path), self.search_settings)[1])
            self._env = env
        return shared_backend(str(self._env.snapshot.path), self.search_settings)[1:]

    def open(self) -> IsolatedEpisode:
        """Open the snapshot, the shared search system and the env now (a bad one is refused here)."""
        self._backend()
        return self

    @property
    def env(self):
        """The episode's ``ExploreEnv`` (opened on first use)."""
        self._backend()
        return self._env

    @property
    def started(self) -> bool:
        return self._alive is not None

    def reset(self, report_id: str | None = None, seed: int | None = None) -> tuple[dict, dict]:
        """Start an episode from the snapshot: on ``report_id`` (seeded from it), or on the next report
        of the env's seeded order; returns the env's observation and info."""
        system, lock = self._backend()
        options = {} if report_id is None else {"report_id": report_id}
        if report_id is not None and seed is None:
            seed = report_seed(self.seed, str(report_id))
        if self.adaptive and seed is None and self._alive is None:
            seed = self.seed  # the first run's timeline
        with lock:
            if self.adaptive and self._alive is not None and seed is None:
                system.alive[:] = self._alive  # the run goes on from where this episode left it
            observation, info = self._env.reset(seed=seed, options=options)
            self._alive = system.alive.copy()
        return observation, info

    def step(self, action: str | Sequence[str]) -> tuple[dict, float, bool, bool, dict]:
        """One env step under this episode's removal state."""
        if self._alive is None:
            raise QxError("no episode has started: reset before the first step")
        system, lock = self._backend()
        with lock:
            system.alive[:] = self._alive
            try:
                return self._env.step(action)
            finally:
                self._alive[:] = system.alive

