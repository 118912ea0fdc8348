"""Wall-clock time of each step, kept in a wrapper (as Gymnasium's ``RecordEpisodeStatistics`` keeps
episode time) so that the environment itself stays deterministic: two runs of one seed give equal
``info``, and only this wrapper's ``step_ms`` differs between them."""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym


class RecordStepTime(gym.Wrapper):
    """Adds ``info["step_ms"]``: milliseconds the wrapped env's ``step`` took (search, audit, reward),
    and ``info["episode_ms"]``: their sum since the last ``reset``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.episode_ms = 0.0

    def reset(self, **kwargs: Any):
        self.episode_ms = 0.0
        return self.env.reset(**kwargs)

    def step(self, action: Any):
        started = time.perf_counter()
        observation, reward, terminated, truncated, info = self.env.step(action)
        elapsed = (time.perf_counter() - started) * 1000
        self.episode_ms += elapsed
        return observation, reward, terminated, truncated, {**info, "step_ms": elapsed, "episode_ms": self.episode_ms}
