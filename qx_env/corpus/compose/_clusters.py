"""Near-duplicate clusters of toxic texts: the campaigns of a real corpus."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def cluster_texts(texts: Sequence[str], categories: Sequence[str], language: str, seed: int,
                  cluster_size: int = 20) -> list[str]:
    """Cluster texts within each category by character n-gram similarity.

    Each category is split into about ``len / cluster_size`` clusters with k-means over a
    TF-IDF character n-gram space reduced by truncated SVD; ids read ``<category>/<k>``.
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    labels = np.empty(len(texts), dtype=object)
    categories = np.asarray(categories, dtype=object)
    analyzer, ngrams = ("char", (1, 3)) if language == "zh" else ("char_wb", (3, 5))
    for category in sorted(set(categories)):
        rows = np.flatnonzero(categories == category)
        k = max(1, math.ceil(len(rows) / cluster_size))
        if k == 1 or len(rows) < 3:
            labels[rows] = f"{category}/0"
            continue
        features = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, min_df=1, sublinear_tf=True)
        matrix = features.fit_transform([texts[i] for i in rows])
        dims = min(64, matrix.shape[1] - 1, len(rows) - 1)
        if dims >= 2:
            matrix = TruncatedSVD(n_components=dims, random_state=seed).fit_transform(matrix)
            matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
        assignment = KMeans(n_clusters=min(k, len(rows)), n_init=2, random_state=seed).fit_predict(matrix)
        labels[rows] = [f"{category}/{a}" for a in assignment]
    return labels.tolist()
