"""The word lists a synthetic marketplace is composed from (``vocab/<lang>.json``), loaded into
typed records and checked for the properties the generator relies on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Category:
    """A normal marketplace category and the words its listings are made of."""

    id: str
    name: str
    weight: float
    products: tuple[str, ...]
    brands: tuple[str, ...]
    models: tuple[str, ...]
    details: tuple[str, ...]
    price: tuple[int, int]


@dataclass(frozen=True)
class Violation:
    """A toxic campaign type: its risk phrases, the sentences around them, the broad words it
    shares with normal listings, and normal look-alike listings (hard negatives)."""

    id: str
    name: str
    cover_categories: tuple[str, ...]
    core_phrases: tuple[str, ...]
    contexts: tuple[str, ...]
    broad_terms: tuple[str, ...]
    hard_negatives: tuple[str, ...]
    hard_negative_category: str


@dataclass(frozen=True)
class Vocabulary:
    language: str
    places: tuple[str, ...]
    conditions: tuple[str, ...]
    shipping: tuple[str, ...]
    closings: tuple[str, ...]
    price_formats: tuple[str, ...]
    contact_formats: dict[str, tuple[str, ...]]
    categories: tuple[Category, ...]
    violations: tuple[Violation, ...]

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    def all_texts(self) -> list[str]:
        """Every word and sentence of the vocabulary (the format strings left out)."""
        texts = [*self.places, *self.conditions, *self.shipping, *self.closings]
        for c in self.categories:
            texts += [c.name, *c.products, *c.brands, *c.models, *c.details]
        for v in self.violations:
            texts += [v.name, *v.core_phrases, *v.contexts, *v.broad_terms, *v.hard_negatives]
        return texts

    @property
    def sep(self) -> str:
        """What joins the sentences of a listing."""
        return "，" if self.language == "zh" else ". "


def _tuple(values) -> tuple:
    return tuple(values)


@cache
def load_vocabulary(language: str) -> Vocabulary:
    """Load and check the embedded vocabulary of ``language`` (``zh`` or ``en``)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; choose from {LANGUAGES}")
    raw = json.loads(resources.files("qx_env.corpus.synth").joinpath(f"vocab/{language}.json").read_text("utf-8"))
    categories = tuple(
        Category(
            id=c["id"], name=c["name"], weight=float(c["weight"]),
            products=_tuple(c["products"]), brands=_tuple(c["brands"]), models=_tuple(c["models"]),
            details=_tuple(c["details"]), price=(int(c["price"][0]), int(c["price"][1])),
        )
        for c in raw["categories"]
    )
    violations = tuple(
        Violation(
            id=v["id"], name=v["name"], cover_categories=_tuple(v["cover_categories"]),
            core_phrases=_tuple(v["core_phrases"]), contexts=_tuple(v["contexts"]),
            broad_terms=_tuple(v["broad_terms"]), hard_negatives=_tuple(v["hard_negatives"]),
            hard_negative_category=v["hard_negative_category"],
        )
        for v in raw["violations"]
    )
    vocabulary = Vocabulary(
        language=language,
        places=_tuple(raw["places"]), conditions=_tuple(raw["conditions"]), shipping=_tuple(raw["shipping"]),
        closings=_tuple(raw["closings"]), price_formats=_tuple(raw["price_formats"]),
        contact_formats={k: _tuple(v) for k, v in raw["contact_formats"].items()},
        categories=categories, violations=violations,
    )
    _check(vocabulary)
    return vocabulary


def _check(vocabulary: Vocabulary) -> None:
    category_ids = {c.id for c in vocabulary.categories}
    for violation in vocabulary.violations:
        unknown = set(violation.cover_categories) - category_ids
        unknown |= {violation.hard_negative_category} - category_ids
        assert not unknown, f"{violation.id}: unknown categories {unknown}"
        for sentence in violation.hard_negatives:
            assert any(t in sentence for t in violation.broad_terms), f"{violation.id}: {sentence!r} has no broad term"
    for fmt in vocabulary.price_formats:
        assert "{price}" in fmt, fmt
    for formats in vocabulary.contact_formats.values():
        for fmt in formats:
            assert "{handle}" in fmt, fmt
