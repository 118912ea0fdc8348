"""Weeks online against sellers who adapt (issue 31): a platform clock drawn up front whose listings come
online through the search system's live mask, campaigns that reword a phrase after a query takes their
listings down (dormant versions indexed up front, one chosen at posting), and :func:`simulate_weeks`, the
multi-week version of :func:`qx_env.metrics.simulate_day`, whose sources may be retrained on the reports
filed so far (:class:`Retrain`)."""

from qx_env.online._config import OnlineConfig
from qx_env.online._lineage import Lineage, variant_chain
from qx_env.online._platform import Platform
from qx_env.online._retrain import FiledReport, Probe, Retrain
from qx_env.online._rewrite import Rewrite
from qx_env.online._sellers import Sellers
from qx_env.online._timeline import Timeline, campaign_members, make_timeline
from qx_env.online._weeks import ANNOTATION, WeeksResult, simulate_weeks
from qx_env.online._world import OnlineWorld, build_world

__all__ = ["ANNOTATION", "FiledReport", "Lineage", "OnlineConfig", "OnlineWorld", "Platform", "Probe", "Retrain", "Rewrite",
           "Sellers", "Timeline", "WeeksResult", "build_world", "campaign_members", "make_timeline", "simulate_weeks",
           "variant_chain"]
