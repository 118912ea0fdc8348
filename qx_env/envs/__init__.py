"""Gymnasium environments: exploration from reports, the auditor and the platform's dynamics."""

from qx_env.envs._audit import AuditedSearch
from qx_env.envs._dynamics import Dynamics
from qx_env.envs._explore import ExploreEnv
from qx_env.envs._spaces import UnicodeText

ENV_ID = "qx_env/Explore-v0"

__all__ = ["ENV_ID", "AuditedSearch", "Dynamics", "ExploreEnv", "UnicodeText"]
