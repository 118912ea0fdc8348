"""How the platform searches, as one value: the modes, the exposed top k, the candidates retrieved per
mode, the ranker, the keyword rule and whether missing indexes are built. The CLI (``--modes``, ``-k``,
``--candidates``, ``--ranker``, ``--match``), the env, the episode servers, ``qx serve``, the adapters and
Ray all take a :class:`SearchSettings`, so the rules below hold in one place."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, replace
from typing import Any

from qx_env.errors import QxError
from qx_env.flags import comma_list

#: Items retrieved per mode before ranking when none is given (at least k: see :meth:`SearchSettings.retrieved`).
DEFAULT_CANDIDATES = 1000
#: The keyword matching rules (:class:`indexes.KeywordIndex`): exact phrase match, or BM25 over the words.
MATCH_RULES = ("exact", "bm25")


@dataclass(frozen=True)
class SearchSettings:
    """The search system's settings (:class:`qx_env.search.SearchSystem`). Hashable, so one system can be
    shared by every episode that searches alike."""

    modes: tuple[str, ...] = ("keyword",)
    """Retrieval modes (keyword, embedding, graph; hybrid for all), fused by reciprocal rank fusion when several."""
    k: int = 100
    """Items a query exposes (the platform's top k)."""
    candidates: int | None = None
    """Items retrieved per mode before ranking; None: the larger of k and 1,000."""
    ranker: str = "retrieval"
    """Ranker spec: retrieval, risk, oracle[:auc=0.8], lm:path=DIR[,kind=judge] or scores:path=DIR."""
    match: str = "exact"
    """Keyword matching rule: exact or bm25."""
    build: bool = True
    """Build an index that is missing, damaged or built for another snapshot (with a warning); False refuses it."""
    embedding_min_score: float | None = None
    """Cosine cut-off of embedding retrieval; None: the encoder's own (see qx_env.search.EMBEDDING_MIN_SCORE)."""

    def __post_init__(self) -> None:
        from indexes import resolve_modes

        object.__setattr__(self, "modes", resolve_modes(self.modes))
        if self.k < 1:
            raise QxError(f"k must be at least 1 item, got {self.k}")
        if self.candidates is not None and self.candidates < self.k:
            raise QxError(f"candidates ({self.candidates}) must be at least k ({self.k}): the top k is ranked "
                          "among the candidates")
        if self.match not in MATCH_RULES:
            raise QxError(f"unknown keyword match {self.match!r}; choose from {', '.join(MATCH_RULES)}")

    @property
    def retrieved(self) -> int:
        """Candidates retrieved per mode: ``candidates``, or the larger of k and :data:`DEFAULT_CANDIDATES`."""
        return self.candidates if self.candidates is not None else max(self.k, DEFAULT_CANDIDATES)

    def replace(self, **changes: Any) -> SearchSettings:
        """These settings with ``changes`` (checked again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready data (a run's record), candidates resolved."""
        return {**asdict(self), "modes": list(self.modes), "candidates": self.retrieved}

    def system(self, snapshot, progress: bool = False, **options: Any):
        """A :class:`~qx_env.search.SearchSystem` over ``snapshot`` with these settings (``options``: its
        other arguments, such as ``ranker_options``)."""
        from qx_env.search._system import SearchSystem

        return SearchSystem.from_settings(snapshot, self, progress=progress, **options)

    @classmethod
    def add_flags(cls, parser: argparse.ArgumentParser) -> None:
        """The settings' flags, the same on every command that searches: ``--modes`` (or ``--mode``), ``-k``,
        ``--candidates``, ``--ranker``, ``--match`` (``--build-missing`` is the CLI's own)."""
        parser.add_argument("--modes", "--mode", dest="modes", type=comma_list, default=list(cls.modes),
                            help="retrieval modes: keyword, embedding, graph, hybrid, or a comma list")
        parser.add_argument("-k", type=int, default=cls.k, help="items exposed per query")
        parser.add_argument("--candidates", type=int, default=None,
                            help=f"items retrieved per mode before ranking (default: the larger of k and "
                                 f"{DEFAULT_CANDIDATES:,})")
        parser.add_argument("--ranker", default=cls.ranker, metavar="SPEC",
                            help="retrieval, risk, oracle[:auc=0.8], lm:path=DIR[,kind=judge] or scores:path=DIR")
        parser.add_argument("--match", choices=MATCH_RULES, default=cls.match, help="keyword matching rule")

    @classmethod
    def from_flags(cls, args: argparse.Namespace, **changes: Any) -> SearchSettings:
        """The settings :meth:`add_flags` parsed into ``args`` (``--build-missing``, where the command has it, is
        ``build``; ``changes`` override them)."""
        values = {"modes": args.modes, "k": args.k, "candidates": args.candidates, "ranker": args.ranker,
                  "match": args.match, "build": getattr(args, "build_missing", False)}
        return cls(**{**values, **changes})
