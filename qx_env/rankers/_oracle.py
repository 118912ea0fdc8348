"""A noisy score of the hidden label with a chosen ROC AUC: an upper bound for controlled runs."""

from __future__ import annotations

import numpy as np

from qx_env.errors import QxError
from qx_env.rankers._base import Ranker, TextScorer, register
from qx_env.rankers._data import LabeledTexts
from qx_env.snapshot import Snapshot


def oracle_scores(labels: np.ndarray, auc: float = 0.8, seed: int = 0) -> np.ndarray:
    """Binormal scores of ``labels`` whose expected ROC AUC is ``auc``: the toxic scores are shifted
    by ``sqrt(2) * Phi^-1(auc)`` standard deviations."""
    from scipy.stats import norm

    if not 0.5 <= float(auc) < 1:
        raise QxError(f"oracle auc must be in [0.5, 1), got {auc}")
    shift = np.sqrt(2.0) * norm.ppf(float(auc))
    noise = np.random.default_rng(int(seed)).standard_normal(len(labels))
    return (noise + shift * np.asarray(labels)).astype(np.float32)


@register
class OracleRanker(Ranker):
    """``oracle[:auc=0.8,seed=0]``: looks at hidden labels; for controlled experiments only."""

    name = "oracle"
    uses_labels = True

    def __init__(self, snapshot: Snapshot, auc: float = 0.8, seed: int = 0) -> None:
        super().__init__(snapshot)
        self.auc, self.seed = float(auc), int(seed)
        self._scores = oracle_scores(snapshot.labels, self.auc, self.seed)

    def scores(self) -> np.ndarray:
        return self._scores

    @classmethod
    def text_scorer(cls, train: LabeledTexts, test: LabeledTexts, auc: float = 0.8, seed: int = 0) -> TextScorer:
        """Scores of ``test``'s own labels (texts other than ``test``'s are refused)."""
        def score(texts: list[str]) -> np.ndarray:
            if texts != test.texts:
                raise QxError("the oracle scores only the labeled texts it was given")
            return oracle_scores(test.labels, auc, seed)

        return score
