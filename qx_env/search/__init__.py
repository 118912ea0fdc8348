"""The search platform: retrieval over the indexes, ranking by risk, exposure (:class:`SearchSystem`),
the auditor who detects exposed toxic items (:class:`AuditedSearch`) and the platform's reaction to
detections, removal among them (:class:`Dynamics`). The env, the metrics, mining and GRPO all search
through this layer, so they count alike."""

from qx_env.rankers import RANKERS, OracleRanker, Ranker, RiskRanker, evaluation_clusters, make_ranker
from qx_env.search._audit import AuditedSearch
from qx_env.search._dynamics import Dynamics
from qx_env.search._system import HYBRID, SearchSystem, resolve_modes

__all__ = [
    "HYBRID", "RANKERS", "AuditedSearch", "Dynamics", "OracleRanker", "Ranker", "RiskRanker", "SearchSystem", "evaluation_clusters",
    "make_ranker", "resolve_modes",
]
