"""Seller tags: the long tail of a marketplace's vocabulary.

Sellers stuff listings with keywords (``#露营 #复古``), and across a platform such words follow a
Zipf law: a few are everywhere, most occur in one or two listings. Without this tail the rarest
words of a toxic listing are its risk phrases, and rarity-based extraction (TF-IDF) finds toxic
items far more often than it does on a real platform. Tags are drawn alike for normal and toxic
listings, so they carry no label signal.

zh tags are nouns of jieba's dictionary; en tags are pseudo-word brand names built from syllables.
Both lexicons are fixed (no seed), and tags use their own random stream, so a snapshot made with
``tags_per_listing=0`` has exactly the text it would have without tags.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from functools import cache
from importlib import resources

from qx_env.corpus.synth._vocabulary import Vocabulary, load_vocabulary

#: Words in each language's tag lexicon, most frequent first.
LEXICON_SIZE = 40_000
#: The most frequent dictionary nouns skipped: general words (国家, 问题) that no seller tags with.
_ZH_SKIP_TOP = 300
#: Zipf exponent of tag frequencies over lexicon ranks.
ZIPF_EXPONENT = 0.6
_CJK_WORD = re.compile(r"[\u4e00-\u9fff]{2,4}")


@cache
def _zh_nouns() -> tuple[str, ...]:
    """Common nouns (2-4 characters) of jieba's dictionary, most frequent first."""
    rows = []
    with resources.files("jieba").joinpath("dict.txt").open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "n" and _CJK_WORD.fullmatch(parts[0]):
                rows.append((-int(parts[1]), parts[0]))
    rows.sort()
    return tuple(word for _, word in rows[_ZH_SKIP_TOP:])


@cache
def _en_brand_names() -> tuple[str, ...]:
    """Pseudo-word brand names (Velmora, Kastrix...), the same on every machine."""
    rng = random.Random(20_261_122)
    onsets = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "cr", "dr", "fr", "gr", "kl", "pl", "pr", "st", "tr"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]
    codas = ["", "", "n", "r", "s", "x", "l", "m"]
    names: dict[str, None] = {}
    while len(names) < 2 * LEXICON_SIZE:
        syllables = [rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(2, 3))]
        names.setdefault((("".join(syllables)) + rng.choice(codas)).capitalize(), None)
    return tuple(names)


@cache
def tag_lexicon(language: str) -> tuple[str, ...]:
    """The tag words of ``language`` that share nothing with its vocabulary's own phrases, so a tag
    never spells (or contains) a risk phrase, a broad term or a stock sentence word. Made once per
    process (it filters the whole dictionary)."""
    vocab = load_vocabulary(language)
    words = _zh_nouns() if language == "zh" else _en_brand_names()
    own = "\n".join(vocab.all_texts()).lower()
    risky = {p.lower() for v in vocab.violations for p in (*v.core_phrases, *v.broad_terms)}
    kept = (w for w in words if not _holds_any(w.lower(), risky) and w.lower() not in own)
    return tuple(itertools.islice(kept, LEXICON_SIZE))


def _holds_any(word: str, phrases: set[str]) -> bool:
    """Whether ``word`` contains one of ``phrases``: its substrings looked up (a tag word is a few
    characters), instead of searching the word for every phrase."""
    return "" in phrases or any(word[start:end] in phrases for start in range(len(word))
                                for end in range(start + 1, len(word) + 1))


class TagSampler:
    """Adds a listing's tags: their number is geometric with mean ``mean``, the words Zipf-distributed
    over the lexicon (exponent below 1: a long tail, most tags in a handful of listings)."""

    def __init__(self, vocab: Vocabulary, seed: int, mean: float) -> None:
        self.rng = random.Random(seed)
        self.mean = mean
        self.words = tag_lexicon(vocab.language) if mean > 0 else ()
        self._cumulative = list(itertools.accumulate(1 / rank**ZIPF_EXPONENT for rank in range(1, len(self.words) + 1)))

    def add(self, pieces: list[str]) -> None:
        """Insert this listing's tags (if any) as one piece after the first."""
        if not self.words:
            return
        # geometric on {0, 1, ...}: P(0) = 1 / (1 + mean)
        count = int(math.log(1.0 - self.rng.random()) / math.log(self.mean / (1 + self.mean)))
        if not count:
            return
        words = dict.fromkeys(self.rng.choices(self.words, cum_weights=self._cumulative, k=count))
        pieces.insert(self.rng.randrange(1, len(pieces) + 1), " ".join(f"#{w}" for w in words))
