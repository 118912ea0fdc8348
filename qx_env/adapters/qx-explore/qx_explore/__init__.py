"""``vf-eval qx-explore``: verifiers imports a taskset id as a module (``qx-explore`` -> ``qx_explore``)
and takes the Taskset, Env and Harness it exports; they live in :mod:`qx_env.adapters.verifiers`."""

from qx_env.adapters import QxExploreEnv, QxExploreHarness, QxExploreTaskset

__all__ = ["QxExploreEnv", "QxExploreHarness", "QxExploreTaskset"]
