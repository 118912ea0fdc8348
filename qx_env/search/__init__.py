"""The search platform: retrieval over the indexes, ranking by risk, exposure (:class:`SearchSystem`),
the auditor who detects exposed toxic items (:class:`AuditedSearch`) and the platform's reaction to
detections, removal among them (:class:`Dynamics`). The env, the metrics, mining and GRPO all search
through this layer, so they count alike."""

from qx_env.rankers import RANKERS, OracleRanker, Ranker, RiskRanker, evaluation_clusters, make_ranker
from qx_env.search._audit import AuditedSearch
from qx_env.search._dynamics import KINDS as DYNAMICS
from qx_env.search._dynamics import Dynamics
from qx_env.search._settings import DEFAULT_CANDIDATES, MATCH_RULES, SearchSettings
from qx_env.search._system import HYBRID, SearchSystem, resolve_modes

__all__ = [
    "DEFAULT_CANDIDATES", "DYNAMICS", "HYBRID", "MATCH_RULES", "RANKERS", "AuditedSearch", "Dynamics", "OracleRanker", "Ranker",
    "RiskRanker", "SearchSettings", "SearchSystem", "evaluation_clusters",
    "make_ranker", "resolve_modes",
]
