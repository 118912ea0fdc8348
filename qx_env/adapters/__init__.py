"""The environment as other projects take it, each adapter a small module over the same episode
(:class:`qx_env.envs.IsolatedEpisode`): ``server`` (``qx serve``: the Search-R1/verl, SkyRL and GEM
retrieval dialects), ``openenv`` (Explore-v0 over OpenEnv), ``trl`` (the tool environment of TRL's
``GRPOTrainer(environment_factory=...)``) and ``verifiers`` (a native verifiers v1 taskset, ``vf-eval
qx-explore``). Names load on first use, so ``import qx_env.adapters`` imports no peer package (and verifiers
can start ``python -m qx_env.adapters.verifiers`` cleanly)."""

from __future__ import annotations

import importlib

__all__ = ["QxExploreConfig", "QxExploreData", "QxExploreEnv", "QxExploreEnvConfig", "QxExploreHarness",
           "QxExploreTask", "QxExploreTaskset", "QxSearchConfig", "QxSearchState", "QxSearchToolset",
           "SearchEnvironment", "tool_rows", "tool_texts"]
_TRL = ("SearchEnvironment", "tool_rows", "tool_texts")

_NAMES = {name: "qx_env.adapters.trl" if name in _TRL else "qx_env.adapters.verifiers" for name in __all__}


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'qx_env.adapters' has no attribute {name!r}")
