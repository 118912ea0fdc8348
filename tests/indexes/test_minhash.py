"""MinHash near-duplicates: signatures estimate shingle Jaccard, LSH finds the close pairs that
brute force finds, and the relation is deterministic, chunk-independent and of bounded degree."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from indexes import _minhash
from indexes._minhash import jaccard, near_duplicate_pairs
from indexes._minhash import minhash_signatures as signatures


def _texts(seed: int = 0, families: int = 40, copies: int = 4, loners: int = 200) -> list[str]:
    """Families of edited copies (a few characters swapped) and unrelated random texts."""
    rng = np.random.default_rng(seed)
    alphabet = list("出售高仿名牌包包加微信同城自提二手自行车成色新旧书一本便宜保真全新正品优惠秒发货到付")

    def random_text(length: int) -> str:
        return "".join(rng.choice(alphabet, length))

    texts = []
    for _ in range(families):
        base = list(random_text(int(rng.integers(20, 40))))
        for _ in range(copies):
            copy = base.copy()
            for position in rng.choice(len(copy), int(rng.integers(0, 3)), replace=False):
                copy[position] = str(rng.integers(10))
            texts.append("".join(copy))
    texts += [random_text(int(rng.integers(10, 40))) for _ in range(loners)]
    return [texts[i] for i in rng.permutation(len(texts))]


def test_signatures_estimate_the_jaccard_similarity_of_shingles():
    texts = _texts()
    signature = signatures(texts)
    errors = []
    for a, b in itertools.combinations(range(120), 2):
        exact = jaccard(texts[a], texts[b])
        errors.append(abs((signature[a] == signature[b]).mean() - exact))
    assert np.mean(errors) < 0.03 and np.max(errors) < 0.3


def test_lsh_finds_the_pairs_brute_force_finds():
    texts = _texts()
    found = {tuple(p) for p in near_duplicate_pairs(signatures(texts), 0.5, neighbours=10).tolist()}
    similar, dissimilar = set(), set()
    for a, b in itertools.combinations(range(len(texts)), 2):
        exact = jaccard(texts[a], texts[b])
        if exact >= 0.65:
            similar.add((a, b))
        elif exact < 0.3:
            dissimilar.add((a, b))
    assert len(similar) >= 100
    assert len(found & similar) >= 0.97 * len(similar)  # clearly similar pairs are found
    assert not found & dissimilar  # clearly different ones never


def test_near_duplicates_are_deterministic_and_the_same_in_any_chunking(monkeypatch):
    texts = _texts(seed=1)
    whole = signatures(texts)
    monkeypatch.setattr(_minhash, "CHUNK", 7)
    assert np.array_equal(signatures(texts), whole)
    pairs = near_duplicate_pairs(whole, 0.5, 5)
    assert np.array_equal(pairs, near_duplicate_pairs(signatures(texts), 0.5, 5))
    assert (pairs[:, 0] < pairs[:, 1]).all() and len(np.unique(pairs, axis=0)) == len(pairs)


def test_copies_link_as_a_connected_web_of_bounded_degree():
    import networkx as nx

    texts = ["高仿证件办理加微wx88000001"] * 60 + ["完全不同的一段二手自行车文字"]
    pairs = near_duplicate_pairs(signatures(texts), 0.5, neighbours=5)
    graph = nx.Graph(pairs.tolist())
    assert set(graph) == set(range(60)) and nx.is_connected(graph)  # the lone text links to nothing
    assert max(d for _, d in graph.degree) <= 2 * 5


def test_normalised_text_reads_the_same_and_empty_texts_link_nothing():
    signature = signatures(["ＡＢＣ加微信１２３", "abc 加 微信 123", "", "", "ab", "ab"])
    assert np.array_equal(signature[0], signature[1])  # full-width, case and spaces do not matter
    pairs = near_duplicate_pairs(signature, 0.5, 5).tolist()
    assert pairs == [[0, 1], [4, 5]]  # a text shorter than a shingle still matches its copy


def test_threshold_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="Jaccard threshold"):
        near_duplicate_pairs(signatures(["a", "b"]), 1.5, 5)
