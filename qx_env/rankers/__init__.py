"""Rankers of the search system's ranking phase, their training data, score caches and
evaluation (the small-models study's Table 1 columns). ``lm`` (fine-tuned classifier or prompted
judge) loads torch and transformers only when asked for; its prompt per language is ``JUDGE_PROMPTS``
(which the classifier's tokenizer is also trained on)."""

from qx_env.rankers._base import DEFERRED, RANKERS, Ranker, TextScorer, make_ranker, parse_ranker, register
from qx_env.rankers._cache import PrecomputedRanker, ScoreCache, cached_scores, read_scores, write_scores
from qx_env.rankers._data import (
    DEFAULT_DATA_DIR,
    LABELED_PRESETS,
    LabeledTexts,
    cold_sets,
    evaluation_clusters,
    heldout_mask,
    labeled_sets,
    read_labeled,
    snapshot_sets,
)
from qx_env.rankers._evaluate import METRICS, classification_metrics, classification_table, evaluate_ranker
from qx_env.rankers._judge_prompts import JUDGE_PROMPTS
from qx_env.rankers._oracle import OracleRanker, oracle_scores
from qx_env.rankers._risk import NgramLogisticRegression, RiskRanker

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFERRED",
    "JUDGE_PROMPTS",
    "LABELED_PRESETS",
    "METRICS",
    "RANKERS",
    "LabeledTexts",
    "NgramLogisticRegression",
    "OracleRanker",
    "PrecomputedRanker",
    "Ranker",
    "RiskRanker",
    "ScoreCache",
    "TextScorer",
    "cached_scores",
    "classification_metrics",
    "classification_table",
    "cold_sets",
    "evaluate_ranker",
    "evaluation_clusters",
    "heldout_mask",
    "labeled_sets",
    "make_ranker",
    "oracle_scores",
    "parse_ranker",
    "read_labeled",
    "read_scores",
    "register",
    "snapshot_sets",
    "write_scores",
]
