"""Near-duplicate clusters of toxic texts: the campaigns of a real corpus, and its lone items."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Cosine similarity (character n-gram TF-IDF, as clustered) at which two toxic texts of one
#: category count as near-duplicates; a text with no such neighbour is a singleton, a cluster of
#: one. Measured on shared/data (2026-12): ChineseHarm-Bench pairs at 0.45-0.55 are recognisably
#: one campaign ("斗牛，炸金花，可拉" / "斗牛，炸金花，三公，德州扑克，玩的加我"; "博系实力大台，新人首存
#: 100+100" / "博系，实力大台，...新用户首存100+100"), pairs at 0.25-0.35 share only an emoji
#: token or a domain; only 2.1% of the harm-zh benign texts have a benign neighbour at 0.4 or more
#: (chance level). At 0.4, 75% of harm-zh, 22% of fbs-zh and 41% of sms-en toxic texts are singletons.
NEAR_DUPLICATE = 0.4
#: Entries of one block of the similarity matrix, to bound memory (2**24 floats = 128 MiB).
_BLOCK = 2**24


def _nearest_similarity(matrix) -> np.ndarray:
    """Each row's highest cosine similarity to another row (rows are L2-normalised)."""
    n = matrix.shape[0]
    best = np.zeros(n)
    step = max(1, _BLOCK // max(n, 1))
    for start in range(0, n, step):
        block = (matrix[start:start + step] @ matrix.T).toarray()
        block[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = 0.0
        best[start:start + step] = block.max(axis=1)
    return best


def cluster_texts(texts: Sequence[str], categories: Sequence[str], language: str, seed: int,
                  cluster_size: int = 20, near_duplicate: float = NEAR_DUPLICATE) -> list[str]:
    """Cluster texts within each category by character n-gram similarity.

    A text whose nearest neighbour in its category is less similar than ``near_duplicate``
    becomes a singleton ``<category>/s<k>``. The rest of a category is split into about
    ``len / cluster_size`` clusters with k-means over a TF-IDF character n-gram space reduced by
    truncated SVD; ids read ``<category>/<k>``.
    """
    from threadpoolctl import threadpool_limits

    if cluster_size < 1:
        raise ValueError(f"cluster size must be at least 1, got {cluster_size}")
    if not 0 <= near_duplicate <= 1:
        raise ValueError(f"near-duplicate similarity must be in [0, 1], got {near_duplicate}")
    # one BLAS thread: the matrices are small, and on shared cores threads of a randomized SVD
    # fight each other (measured: 4.5 s with default threads against 0.65 s with one, harm-zh 博彩)
    with threadpool_limits(1):
        return _cluster(texts, categories, language, seed, cluster_size, near_duplicate)


def _cluster(texts, categories, language, seed, cluster_size, near_duplicate) -> list[str]:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    labels = np.empty(len(texts), dtype=object)
    categories = np.asarray(categories, dtype=object)
    analyzer, ngrams = ("char", (1, 3)) if language == "zh" else ("char_wb", (3, 5))
    for category in sorted(set(categories)):
        rows = np.flatnonzero(categories == category)
        if len(rows) == 1:
            labels[rows] = f"{category}/s0"
            continue
        features = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, min_df=1, sublinear_tf=True)
        matrix = features.fit_transform([texts[i] for i in rows])
        lone = _nearest_similarity(matrix) < near_duplicate
        labels[rows[lone]] = [f"{category}/s{k}" for k in range(int(lone.sum()))]
        rows = rows[~lone]
        k = max(1, math.ceil(len(rows) / cluster_size))
        if len(rows) == 0:
            continue
        if k == 1 or len(rows) < 3:
            labels[rows] = f"{category}/0"
            continue
        matrix = features.fit_transform([texts[i] for i in rows])  # the n-grams of the clustered texts only
        dims = min(64, matrix.shape[1] - 1, len(rows) - 1)
        if dims >= 2:
            matrix = TruncatedSVD(n_components=dims, random_state=seed).fit_transform(matrix)
            matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
        assignment = KMeans(n_clusters=min(k, len(rows)), n_init=2, random_state=seed).fit_predict(matrix)
        labels[rows] = [f"{category}/{a}" for a in assignment]
    return labels.tolist()


def near_duplicate_pairs(texts: Sequence[str], language: str, near_duplicate: float,
                         categories: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, of texts at least ``near_duplicate`` similar (character n-gram TF-IDF
    fitted on all the texts, as :func:`cluster_texts` within one category); with ``categories``, only
    pairs of different categories."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer, ngrams = ("char", (1, 3)) if language == "zh" else ("char_wb", (3, 5))
    matrix = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, min_df=1, sublinear_tf=True).fit_transform(texts)
    n = matrix.shape[0]
    step = max(1, _BLOCK // max(n, 1))
    firsts, seconds = [], []
    for start in range(0, n, step):
        block = (matrix[start:start + step] @ matrix.T).toarray()
        rows, cols = np.nonzero(block >= near_duplicate)
        rows = rows + start
        keep = rows < cols
        if categories is not None:
            keep &= categories[rows] != categories[cols]
        firsts.append(rows[keep])
        seconds.append(cols[keep])
    return (np.concatenate(firsts), np.concatenate(seconds)) if firsts else (np.zeros(0, int), np.zeros(0, int))


def _joined(labels: np.ndarray, firsts: np.ndarray, seconds: np.ndarray) -> tuple[list[str], int, int]:
    """``labels`` with every two labels of a linked pair of rows ``(firsts[k], seconds[k])`` made one (their
    connected components); a joined label is its largest member's (ties: the first in sorted order).
    Returns the labels, the members of joined components and the components joined."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ids, index = np.unique(labels.astype(str), return_inverse=True)
    graph = coo_matrix((np.ones(len(firsts)), (index[firsts], index[seconds])), shape=(len(ids), len(ids)))
    count, component = connected_components(graph, directed=False)
    if count == len(ids):
        return labels.tolist(), 0, 0
    sizes = np.bincount(index, minlength=len(ids))
    best: dict[int, int] = {}
    for cluster in np.lexsort((np.arange(len(ids)), -sizes)):
        best.setdefault(int(component[cluster]), int(cluster))
    members = np.bincount(component, minlength=count)
    return ([str(ids[best[int(component[i])]]) for i in index], int(members[members > 1].sum()),
            int((members > 1).sum()))


def join_families(labels: Sequence[str], texts: Sequence[str], categories: Sequence[str], language: str,
                  near_duplicate: float = NEAR_DUPLICATE, groups: Sequence[str | None] | None = None
                  ) -> tuple[list[str], dict]:
    """Join the clusters of :func:`cluster_texts` (made within each category) into families that a
    split must not cut: two clusters are one family when a text of one and a text of the other, of
    different categories, are near-duplicates (a post and its disguised twin filed under another
    category or file), or when two of their texts share a ``groups`` value (a corpus's own ids; ``None``
    or ``""`` is no group). A joined family takes the id of its largest cluster (ties: the first id in
    sorted order). Returns the new labels and what was joined."""
    labels = np.asarray(labels, dtype=object)
    categories = np.asarray(categories, dtype=object)
    info = {"near_duplicate_pairs_across_categories": 0, "grouped_rows": 0, "clusters_joined": 0,
            "families_made": 0}
    if len(labels) < 2:
        return labels.tolist(), info
    firsts, seconds = [np.zeros(0, int)], [np.zeros(0, int)]
    if len(set(categories)) > 1:
        with _one_thread():
            a, b = near_duplicate_pairs(list(texts), language, near_duplicate, categories)
        firsts.append(a)
        seconds.append(b)
        info["near_duplicate_pairs_across_categories"] = len(a)
    if groups is not None:
        values = np.array(["" if g is None or (isinstance(g, float) and math.isnan(g)) else str(g) for g in groups],
                          dtype=object)
        named = np.flatnonzero(values != "")
        info["grouped_rows"] = len(named)
        if len(named):
            order = named[np.argsort(values[named], kind="stable")]
            same = values[order[1:]] == values[order[:-1]]  # consecutive rows of one group
            firsts.append(order[:-1][same])
            seconds.append(order[1:][same])
    joined, info["clusters_joined"], info["families_made"] = _joined(labels, np.concatenate(firsts),
                                                                     np.concatenate(seconds))
    return joined, info


def split_groups(families: Sequence[str], texts: Sequence[str], language: str,
                 near_duplicate: float = NEAR_DUPLICATE) -> tuple[list[str], dict]:
    """The group each report is split with, given its item's family and text: its family joined with every
    family one of whose reports is a near-duplicate of one of its own, in any category. Families stay the
    campaigns (what is planted whole, and what comparisons resample); groups only keep near-duplicate
    reports out of different splits. k-means cuts a category's near-duplicate chains into clusters of about
    ``cluster_size``, and joining those chains into families would make one family of a quarter of a
    corpus's toxic texts (measured: 2,149 of harm-zh's, 1,660 of fbs-zh's), which no split could hold; among
    the reports of a world planted at a realistic share the chains are short, and a group larger than a
    split's share goes whole to train (the split furthest below its share). The similarity is the one a
    leak is measured with (character n-gram TF-IDF fitted on the reports' texts). A group's id is its
    largest family's."""
    info = {"near_duplicate_pairs_across_families": 0, "families_grouped": 0, "groups_made": 0,
            "largest_group_items": 0}
    families = np.asarray(families, dtype=object)
    if len(families) < 2:
        return families.tolist(), info
    with _one_thread():
        a, b = near_duplicate_pairs(list(texts), language, near_duplicate)
    across = families[a] != families[b]
    info["near_duplicate_pairs_across_families"] = int(across.sum())
    groups, info["families_grouped"], info["groups_made"] = _joined(families, a[across], b[across])
    info["largest_group_items"] = int(max(np.unique(np.asarray(groups), return_counts=True)[1]))
    return groups, info


def _one_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)
