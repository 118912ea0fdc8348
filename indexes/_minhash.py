"""Near-duplicate texts by MinHash: Jaccard similarity of character shingles, estimated from
signatures and found by banded locality-sensitive hashing (Broder 1997; Leskovec, Rajaraman &
Ullman, *Mining of Massive Datasets*, ch. 3).

The relation is a property of the texts alone, so the item graph is the same whichever encoder
the embedding index uses. Everything is vectorised over the code points of a chunk of texts (the
signatures of a million listings in 34 s here, their pairs in 11 s), deterministic (fixed hash
constants, no Python ``hash``), and memory grows with the chunk and one LSH band's candidates, not
the corpus, apart from the signatures (4 bytes x :data:`PERMUTATIONS` per text).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

#: Characters per shingle. Chinese listings carry a word in 2-3 characters, so 3-character
#: shingles overlap when wording is shared and rarely otherwise (the rule of the generator's
#: measured singleton share is on character 2-3-grams, ``qx_env.corpus.synth._noise_rates``).
SHINGLE = 3
#: LSH bands and rows per band (``BANDS * ROWS`` hash functions). A pair of Jaccard J becomes a
#: candidate with probability 1 - (1 - J^ROWS)^BANDS: 0.94 at 0.5, 0.9998 at 0.7, 0.44 at 0.3.
BANDS, ROWS = 21, 3
PERMUTATIONS = BANDS * ROWS
#: The near-duplicate rule: estimated Jaccard similarity of shingles at least this. 0.5 is the
#: resemblance at which Broder et al. (1997, "Syntactic clustering of the Web") clustered
#: near-duplicate pages, and on real campaign text it agrees with the rule the generator's
#: singleton share was measured by: fbs_sms IL/FR, 26.4% of texts without a near-duplicate at
#: Jaccard >= 0.5, 24.4% without one at character 2-3-gram TF-IDF cosine >= 0.5
#: (``qx bench duplicates``; README, "Near-duplicates, as measured").
NEAR_DUPLICATE_JACCARD = 0.5
#: Near-duplicate partners kept per text (its most similar ones): a campaign of m copies links as a
#: bounded-degree web, not an m^2 clique.
NEAR_DUPLICATE_PARTNERS = 5
#: Texts hashed at once (bounds the code-point arrays: about 60 characters a listing).
CHUNK = 200_000
#: Within an LSH bucket (items in position order), each item is paired with the next this many:
#: a bucket of m identical texts gives O(m) candidate pairs, not m^2, and stays connected.
WINDOW = 8


def _constants(count: int, seed: int) -> np.ndarray:
    """Odd 64-bit multipliers for multiply-shift hashing, fixed by ``seed``."""
    return np.random.default_rng(seed).integers(1, 2**63, size=count, dtype=np.uint64) * 2 + 1


_SHINGLE_MULTIPLIERS = _constants(SHINGLE, 1)
_PERMUTATION_A = _constants(PERMUTATIONS, 2)
_PERMUTATION_B = _constants(PERMUTATIONS, 3)


def normalise(text: str) -> str:
    """The text a shingle is read from: NFKC (full-width to half-width), lower case, no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def _shingle_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every shingle of the chunk's texts in text order, and the number per text (a
    text shorter than a shingle is one shingle; an empty text has none)."""
    texts = [normalise(t) for t in texts]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    counts = np.where(lengths > 0, np.maximum(lengths - SHINGLE + 1, 1), 0)
    # the shingle starting at each position of each text: position p, code points p..p+SHINGLE-1,
    # cut at the text's end (a text shorter than a shingle reads as far as it goes)
    owner = np.repeat(np.arange(len(texts)), counts)
    first = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + starts[owner]
    with np.errstate(over="ignore"):
        hashes = np.zeros(len(first), dtype=np.uint64)
        for offset, multiplier in enumerate(_SHINGLE_MULTIPLIERS):
            position = first + offset
            inside = position < ends[owner]
            code = np.where(inside, codes[np.minimum(position, max(len(codes) - 1, 0))], 0) if len(codes) else 0
            hashes = (hashes + code + np.uint64(offset + 1)) * multiplier
        hashes ^= hashes >> np.uint64(29)
    return hashes, counts


def minhash_signatures(texts: Iterable[str], progress: bool = False) -> np.ndarray:
    """MinHash signatures, ``(texts, PERMUTATIONS)`` uint32; a text with no characters gets the
    maximum in every slot (it matches only other empty texts, which :func:`near_duplicate_pairs`
    drops)."""
    texts = list(texts) if not isinstance(texts, Sequence) else texts
    out = np.full((len(texts), PERMUTATIONS), np.iinfo(np.uint32).max, dtype=np.uint32)
    for start in tqdm(range(0, len(texts), CHUNK), desc="minhash: signatures", disable=not progress):
        hashes, counts = _shingle_hashes(texts[start:start + CHUNK])
        has = np.flatnonzero(counts)
        if len(has) == 0:
            continue
        offsets = (np.cumsum(counts) - counts)[has]
        with np.errstate(over="ignore"):
            for slot in range(PERMUTATIONS):
                values = (hashes * _PERMUTATION_A[slot] + _PERMUTATION_B[slot]) >> np.uint64(32)
                out[start + has, slot] = np.minimum.reduceat(values, offsets).astype(np.uint32)
    return out


def _band_keys(signature: np.ndarray, band: int) -> np.ndarray:
    rows = signature[:, band * ROWS:(band + 1) * ROWS].astype(np.uint64)
    key = np.zeros(len(signature), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for row in range(ROWS):
            key = (key ^ rows[:, row]) * _PERMUTATION_A[row]
    return key


def near_duplicates(texts: Sequence[str], threshold: float = NEAR_DUPLICATE_JACCARD,
                    neighbours: int = NEAR_DUPLICATE_PARTNERS, progress: bool = False) -> np.ndarray:
    """Near-duplicate pairs of ``texts`` by the rule above (see :func:`near_duplicate_pairs`)."""
    return near_duplicate_pairs(minhash_signatures(texts, progress), threshold, neighbours, progress)


def near_duplicate_pairs(signature: np.ndarray, threshold: float = NEAR_DUPLICATE_JACCARD,
                         neighbours: int = NEAR_DUPLICATE_PARTNERS, progress: bool = False) -> np.ndarray:
    """Pairs ``(a, b)``, ``a < b``, ascending, of texts whose estimated Jaccard similarity (the
    share of equal signature slots) is at least ``threshold``, among each text's ``neighbours``
    most similar candidates (ties by the nearer position, so copies link as a chain-like web of
    degree about ``2 * neighbours`` rather than all to the first copy); candidates share an LSH band."""
    if not 0 < threshold <= 1:
        raise ValueError(f"near-duplicate Jaccard threshold must be in (0, 1], got {threshold}")
    n = len(signature)
    empty = (signature == np.iinfo(np.uint32).max).all(axis=1)
    # Candidates are checked band by band and only the close ones kept, as codes a * n + b: a band's
    # candidates grow faster than the corpus (19M over the 21 bands at 1M listings; held all at once,
    # the 10M graph build ran out of 24 GiB).
    found = []
    for band in tqdm(range(BANDS), desc="minhash: LSH bands", disable=not progress):
        keys = _band_keys(signature, band)
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        for step in range(1, WINDOW + 1):
            same = np.flatnonzero(ordered[step:] == ordered[:-step])
            a, b = order[same], order[same + step]
            low, high = np.minimum(a, b), np.maximum(a, b)
            keep = ~(empty[low] | empty[high])
            low, high = low[keep], high[keep]
            close = _agreement(signature, low, high) >= threshold - 1e-6
            found.append(low[close].astype(np.int64) * n + high[close])
    pairs = _decoded(np.unique(np.concatenate(found)) if found else np.empty(0, np.int64), n)
    similarity = _agreement(signature, pairs[:, 0], pairs[:, 1])
    # each text keeps its `neighbours` most similar partners; a pair stays if either end keeps it
    items = np.concatenate([pairs[:, 0], pairs[:, 1]])
    partners = np.concatenate([pairs[:, 1], pairs[:, 0]])
    order = np.lexsort((partners, np.abs(partners - items), -np.concatenate([similarity, similarity]), items))
    sorted_items = items[order]
    group_start = np.searchsorted(sorted_items, sorted_items, side="left")
    kept = order[np.arange(len(order)) - group_start < neighbours]
    codes = np.unique(np.minimum(items[kept], partners[kept]).astype(np.int64) * n
                      + np.maximum(items[kept], partners[kept]))
    return _decoded(codes, n)


def _decoded(codes: np.ndarray, n: int) -> np.ndarray:
    """Pairs ``(a, b)`` of pair codes ``a * n + b`` (ascending codes give ascending pairs)."""
    return np.stack([codes // n, codes % n], axis=1) if n else np.empty((0, 2), np.int64)


def _agreement(signature: np.ndarray, a: np.ndarray, b: np.ndarray, block: int = 1_000_000) -> np.ndarray:
    """Share of equal signature slots of each pair ``(a[i], b[i])`` (the Jaccard estimate), in blocks."""
    out = np.empty(len(a), dtype=np.float32)
    for start in range(0, len(a), block):
        rows_a, rows_b = signature[a[start:start + block]], signature[b[start:start + block]]
        out[start:start + len(rows_a)] = (rows_a == rows_b).mean(axis=1)
    return out


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard similarity of two texts' shingle sets (what the signatures estimate)."""
    def shingles(text: str) -> set[str]:
        text = normalise(text)
        return {text[i:i + SHINGLE] for i in range(max(len(text) - SHINGLE + 1, 1))} if text else set()

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0
