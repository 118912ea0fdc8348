"""``qx serve``: an HTTP retrieval server over the simulated search system, in the formats RL
trainers already send (Search-R1 / verl / rllm, SkyRL, GEM's msgpack), with per-session removal
state. Names load on first use, so ``qx`` starts without importing FastAPI."""

from __future__ import annotations

import importlib

_NAMES = {
    "create_app": "qx_env.server.app", "ServerConfig": "qx_env.server.config", "BadRequest": "qx_env.server.formats",
    "SESSION_HEADER": "qx_env.server.formats", "ServerThread": "qx_env.server.running",
    "listen": "qx_env.server.running", "serve_forever": "qx_env.server.running",
    "SessionStore": "qx_env.server.sessions",
}

__all__ = ["SESSION_HEADER", "BadRequest", "ServerConfig", "ServerThread", "SessionStore", "create_app", "listen",
           "serve_forever"]


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'qx_env.server' has no attribute {name!r}")
