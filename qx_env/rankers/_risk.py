"""The ``risk`` ranker: logistic regression on character n-grams (hashed TF-IDF), a cheap classic
risk model; trained on the snapshot's labels outside the held-out items."""

from __future__ import annotations

import numpy as np

from qx_env.errors import QxError
from qx_env.rankers._base import Ranker, TextScorer, register
from qx_env.rankers._cache import cached_scores
from qx_env.rankers._data import LabeledTexts, heldout_mask, snapshot_sets
from qx_env.snapshot import Snapshot


class NgramLogisticRegression:
    """Character 1-3-gram hashed TF-IDF + class-balanced logistic regression."""

    def __init__(self, C: float = 4.0) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.C = float(C)
        self.hasher = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 3), n_features=2**20,
                                        alternate_sign=False)

    def fit(self, data: LabeledTexts) -> NgramLogisticRegression:
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.linear_model import LogisticRegression

        data.require_both_classes()
        hashed = self.hasher.transform(data.texts)
        self.tfidf = TfidfTransformer(sublinear_tf=True).fit(hashed)
        self.model = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced")
        self.model.fit(self.tfidf.transform(hashed), data.labels)
        return self

    def score(self, texts: list[str]) -> np.ndarray:
        """Probability of toxic for each text."""
        features = self.tfidf.transform(self.hasher.transform(texts))
        return self.model.predict_proba(features)[:, 1].astype(np.float32)


@register
class RiskRanker(Ranker):
    """``risk[:C=4.0,holdout=0.1,cache=true]``: :class:`NgramLogisticRegression` trained on the
    items outside :func:`heldout_mask`; scores are cached per snapshot."""

    name = "risk"
    reads_text = True

    def __init__(self, snapshot: Snapshot, cache: bool = True, C: float = 4.0, holdout: float = 0.1) -> None:
        super().__init__(snapshot)
        self.C, self.holdout = float(C), float(holdout)
        self._scores = cached_scores(snapshot, self.name, {"C": self.C, "holdout": self.holdout},
                                     self._fit_and_score, cache)

    def training_mask(self) -> np.ndarray:
        """Items the classifier learns from: none of the evaluation clusters, none held out."""
        return ~heldout_mask(self.snapshot, self.holdout)

    def _fit_and_score(self) -> np.ndarray:
        data, _ = snapshot_sets(self.snapshot, self.holdout)  # the items of training_mask()
        if len(set(data.labels.tolist())) < 2:
            raise QxError("the risk ranker needs toxic and normal items outside the evaluation clusters")
        return NgramLogisticRegression(self.C).fit(data).score(list(self.snapshot.texts))

    def scores(self) -> np.ndarray:
        return self._scores

    @classmethod
    def text_scorer(cls, train: LabeledTexts, test: LabeledTexts, C: float = 4.0, **_: object) -> TextScorer:
        return NgramLogisticRegression(C).fit(train).score
