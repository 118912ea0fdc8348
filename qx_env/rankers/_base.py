"""The ranker protocol and registry. A ranker gives every item of a snapshot a risk score; the
search system exposes the candidates of a query in descending score. ``retrieval`` gives none, so
candidates keep their retrieval order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from qx_env.errors import QxError
from qx_env.rankers._data import LabeledTexts
from qx_env.snapshot import Snapshot
from qx_env.specs import lookup, spec_options, split_spec

#: Risk of each of a list of texts.
TextScorer = Callable[[list[str]], np.ndarray]


class Ranker:
    """Base ranker: no scores, so candidates keep their retrieval order."""

    name: ClassVar[str] = "retrieval"
    #: True for rankers that look at hidden labels: controlled experiments only.
    uses_labels: ClassVar[bool] = False
    #: True for rankers whose scores come from a model reading the text (timed in evaluations).
    reads_text: ClassVar[bool] = False

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def scores(self) -> np.ndarray | None:
        """Risk of every item (higher is riskier), or None to keep the retrieval order."""
        return None

    @classmethod
    def text_scorer(cls, train: LabeledTexts, test: LabeledTexts, **options: Any) -> TextScorer:
        """This ranker's risk model outside a snapshot, for evaluation on labeled texts: learns from
        ``train`` where it learns at all, then scores texts. ``retrieval`` scores every text 0."""
        return lambda texts: np.zeros(len(texts), dtype=np.float32)


RANKERS: dict[str, type[Ranker]] = {"retrieval": Ranker}
#: Built-in rankers whose modules load heavy libraries: imported when first asked for.
DEFERRED = {"lm": "qx_env.rankers._lm"}


def register(cls: type[Ranker]) -> type[Ranker]:
    """Class decorator: make a ranker available by its ``name``."""
    RANKERS[cls.name] = cls
    return cls


def parse_ranker(spec: str) -> tuple[type[Ranker], dict[str, Any]]:
    """The ranker class and options of ``name`` or ``name:key=value,...``."""
    name, arguments = split_spec(spec)
    cls = lookup("ranker", name, RANKERS, DEFERRED)
    return cls, spec_options("ranker", name, arguments, cls.__init__)


def make_ranker(spec: str, snapshot: Snapshot, **options: Any) -> Ranker:
    """A ranker from ``name`` or ``name:key=value,...`` (``risk``, ``oracle:auc=0.9``,
    ``lm:path=models/judge,kind=judge``); ``options`` add to those of the spec."""
    cls, parsed = parse_ranker(spec)
    name = cls.name
    merged = {**parsed, **options}
    try:
        return cls(snapshot, **merged)
    except TypeError as exc:
        raise QxError(f"bad options for ranker {name!r}: {exc}") from None
