"""Adapters of Explore-v0 to other projects' environment APIs. ``qx_env.adapters.verifiers``: a native
verifiers v1 taskset (``vf-eval qx-explore``). Names load on first use, so ``import qx_env.adapters``
imports no peer package (and verifiers can start ``python -m qx_env.adapters.verifiers`` cleanly)."""

from __future__ import annotations

import importlib

__all__ = ["QxExploreConfig", "QxExploreData", "QxExploreEnv", "QxExploreEnvConfig", "QxExploreHarness",
           "QxExploreTask", "QxExploreTaskset", "QxSearchConfig", "QxSearchState", "QxSearchToolset"]

_NAMES = dict.fromkeys(__all__, "qx_env.adapters.verifiers")


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'qx_env.adapters' has no attribute {name!r}")
