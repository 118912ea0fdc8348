"""Explore-v0 as an OpenEnv environment (the ``openenv`` package; openenv-core 0.3 works too): typed
actions and observations, the server-side :class:`ExploreEnvironment` (one per session, each with its own
removal state over one shared search system), the app made with OpenEnv's ``create_fastapi_app`` and a
client. Names load on first use, so ``import qx_env`` does not import openenv."""

from __future__ import annotations

import importlib

_NAMES = {
    "ExploreAction": "qx_env.adapters.openenv.models", "ExploreObservation": "qx_env.adapters.openenv.models",
    "ExploreState": "qx_env.adapters.openenv.models", "ExploreEnvironment": "qx_env.adapters.openenv.environment",
    "create_openenv_app": "qx_env.adapters.openenv.app", "ExploreClient": "qx_env.adapters.openenv.client",
    "IsolatedEpisode": "qx_env.envs",
}

__all__ = ["ExploreAction", "ExploreClient", "ExploreEnvironment", "ExploreObservation", "ExploreState",
           "IsolatedEpisode", "create_openenv_app"]


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'qx_env.adapters.openenv' has no attribute {name!r}")
