"""The search system: retrieval over the indexes, ranking by risk, exposure, removal."""

from qx_env.rankers import RANKERS, OracleRanker, Ranker, RiskRanker, evaluation_clusters, make_ranker
from qx_env.search._system import HYBRID, SearchSystem, resolve_modes

__all__ = [
    "HYBRID", "RANKERS", "OracleRanker", "Ranker", "RiskRanker", "SearchSystem", "evaluation_clusters",
    "make_ranker", "resolve_modes",
]
