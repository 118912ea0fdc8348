"""Gymnasium environments over the search platform (:mod:`qx_env.search`): exploration from reports
(:class:`ExploreEnv`), and episodes with their own removal state over one shared search system
(:class:`IsolatedEpisode`, what an OpenEnv session and a TRL rollout each need)."""

from qx_env.envs._adaptive import ADAPTIVE, AdaptiveClock, is_adaptive
from qx_env.envs._explore import ExploreEnv
from qx_env.envs._isolated import IsolatedEpisode
from qx_env.envs._spaces import UnicodeText
from qx_env.envs._timing import RecordStepTime

ENV_ID = "qx_env/Explore-v0"

__all__ = ["ADAPTIVE", "ENV_ID", "AdaptiveClock", "ExploreEnv", "IsolatedEpisode", "RecordStepTime", "UnicodeText", "is_adaptive"]
