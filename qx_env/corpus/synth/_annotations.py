"""Auditor annotations of a reported listing, reproducing the paper's observations (section 1 and
Table 1; section 5.3): most marked phrases are good queries, some are too verbose to match anything
else, some are too broad and expose many normal listings, some mark a contact handle or a seller's
pattern, and boundaries are loose ("the boundaries of queries in our situation are not strict"):
a marked risk phrase often takes in a neighbouring character or word, or stops short of one."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qx_env.corpus.synth._generator import Listing
    from qx_env.corpus.synth._vocabulary import Vocabulary

#: How often an auditor marks each kind of phrase. The paper gives no rates, only that most marked
#: phrases are used for search and that verbose, broad and loosely bounded ones occur (Table 1,
#: section 5.3); these shares are a modelling choice that keeps usable phrases (good, loose,
#: pattern) a majority. ``loose`` is a risk phrase marked with a loose boundary (see LOOSE_*).
KIND_WEIGHTS = {"good": 0.28, "loose": 0.12, "verbose": 0.25, "broad": 0.25, "pattern": 0.1}
#: Of loose marks, the share that run too long (take in neighbouring characters or words); the
#: rest stop short. How far: 1 to LOOSE_MAX_SHIFT characters (zh) or words (en) on one side.
LOOSE_LONG_SHARE = 0.5
LOOSE_MAX_SHIFT = 2
#: Share of reports the auditor leaves without any marked phrase.
EMPTY_SHARE = 0.05


@dataclass(frozen=True)
class Annotation:
    phrases: list[str]
    kinds: list[str]


_BREAKS = re.compile(r"[，,。！!~？?；;]|\.\s")


def _verbose(text: str, phrase: str, language: str, rng: random.Random) -> str:
    """A long span around ``phrase`` that matches the reported listing and little else. It stays
    within the listing's sentences (no commas), joining the next sentence with a space. A phrase that
    a clause break splits (the symbol operator's '. ') is in no one sentence: the longest sentence
    then (the first one was often a fragment of the phrase, or a one-word piece)."""
    pieces = [p.strip() for p in _BREAKS.split(text) if p.strip()]
    index = next((i for i, p in enumerate(pieces) if phrase in p), None)
    if index is None:
        return max(pieces, key=len) if pieces else text.strip()
    span = pieces[index]
    if index + 1 < len(pieces) and (len(span) < len(phrase) + 6 or rng.random() < 0.5):
        span = f"{span} {pieces[index + 1]}"
    if language == "en":
        return span
    return span[: max(len(phrase) + 6, min(len(span), rng.randint(12, 30)))]


def _loose(text: str, phrase: str, language: str, rng: random.Random) -> str:
    """``phrase`` as marked with a loose boundary: grown into the neighbouring characters (zh) or
    words (en) of the clause it stands in (on one side, the other if that side ends the clause),
    or cut short by 1-2 of its own, keeping 2 characters (zh) or 1 word (en). Falls back to the
    phrase itself where neither is possible."""
    start = text.find(phrase)
    if start < 0:
        return phrase
    shift = rng.randint(1, LOOSE_MAX_SHIFT)
    left_first = rng.random() < 0.5
    unit = _words if language == "en" else list
    clause = _BREAKS.split(text[:start])[-1], _BREAKS.split(text[start + len(phrase):])[0]
    before, after = unit(clause[0]), unit(clause[1])
    own = unit(phrase)
    joiner = " " if language == "en" else ""
    if rng.random() < LOOSE_LONG_SHARE:
        for left in (left_first, not left_first):
            extra = before[len(before) - min(shift, len(before)):] if left else after[:shift]
            if extra and "".join(extra).strip():
                return joiner.join([*extra, *own] if left else [*own, *extra]).strip()
    keep = 2 if language == "zh" else 1
    if len(own) - shift >= keep:
        return joiner.join(own[shift:] if left_first else own[:-shift])
    return phrase


def _words(text: str) -> list[str]:
    return text.split()


def _broad(listing: Listing, vocab: Vocabulary, rng: random.Random) -> str:
    violation = next(v for v in vocab.violations if v.id == listing.violation)
    present = [t for t in violation.broad_terms if t in listing.text]
    if present:
        return rng.choice(present)
    products = [p for p in vocab.category(listing.category).products if p in listing.text]
    if products:
        return rng.choice(products)
    return listing.risk_phrases[0][:2]


def annotate(listing: Listing, vocab: Vocabulary, rng: random.Random) -> Annotation:
    """Mark 0-3 phrases of a reported toxic listing, each a substring of its text where possible."""
    if rng.random() < EMPTY_SHARE:
        return Annotation([], [])
    count = 1 + sum(rng.random() < 0.3 for _ in range(2))
    phrases: list[str] = []
    kinds: list[str] = []
    for _ in range(count):
        kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
        if kind == "good":
            phrase = rng.choice(listing.risk_phrases)
        elif kind == "loose":
            phrase = _loose(listing.text, rng.choice(listing.risk_phrases), vocab.language, rng)
        elif kind == "verbose":
            phrase = _verbose(listing.text, rng.choice(listing.risk_phrases), vocab.language, rng)
        elif kind == "broad":
            phrase = _broad(listing, vocab, rng)
        else:
            options = [listing.contact] if listing.contact else list(listing.contexts)
            phrase = rng.choice(options) if options else rng.choice(listing.risk_phrases)
            phrase = max(_BREAKS.split(phrase), key=len)  # one clause: an answer joins queries with commas
        phrase = phrase.strip()
        if phrase and phrase not in phrases:
            phrases.append(phrase)
            kinds.append(kind)
    return Annotation(phrases, kinds)
