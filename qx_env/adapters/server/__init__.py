"""``qx serve``: an HTTP retrieval server over the simulated search system, in the formats RL
trainers already send (Search-R1 / verl / rllm, SkyRL, GEM's msgpack), with per-session removal
state. Names load on first use, so ``qx`` starts without importing FastAPI."""

from __future__ import annotations

import importlib

_NAMES = {
    "create_app": "qx_env.adapters.server.app", "ServerConfig": "qx_env.adapters.server.config", "BadRequest": "qx_env.adapters.server.formats",
    "SESSION_HEADER": "qx_env.adapters.server.formats", "ServerThread": "qx_env.adapters.server.running",
    "listen": "qx_env.adapters.server.running", "serve_forever": "qx_env.adapters.server.running",
    "SessionStore": "qx_env.adapters.server.sessions",
}

__all__ = ["SESSION_HEADER", "BadRequest", "ServerConfig", "ServerThread", "SessionStore", "create_app", "listen",
           "serve_forever"]


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'qx_env.adapters.server' has no attribute {name!r}")
