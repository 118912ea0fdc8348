"""The policy protocol and registry: a policy reads report texts and returns ranked queries."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from qx_env.snapshot import Snapshot
from qx_env.specs import lookup, spec_options


class Policy(ABC):
    """``extract(texts)`` gives a ranked list of queries per text; ``candidates(text, n)`` gives up
    to ``n`` alternative answers (each a list of queries) for preference mining."""

    name: ClassVar[str]
    #: True for policies that look at hidden labels: upper bounds only, never training data.
    uses_labels: ClassVar[bool] = False

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self.snapshot = snapshot

    @abstractmethod
    def extract(self, texts: list[str]) -> list[list[str]]:
        """Ranked queries for each text (possibly empty)."""

    def candidates(self, text: str, n: int) -> list[list[str]]:
        """Alternative answers for one text; deterministic policies have one."""
        return self.extract([text])[:1]


POLICIES: dict[str, type[Policy]] = {}
#: Built-in policies whose modules load heavy libraries: imported when first asked for.
DEFERRED = {"llm": "policies._llm", "seqlabel": "policies._seqlabel"}


def register(cls: type[Policy]) -> type[Policy]:
    """Class decorator: make a policy available by its ``name``."""
    POLICIES[cls.name] = cls
    return cls


def make_policy(spec: str, snapshot: Snapshot | None = None) -> Policy:
    """A policy from ``name`` or ``name:key=value,key=value`` (e.g. ``tfidf:top=3``)."""
    name, _, arguments = spec.partition(":")
    cls = lookup("policy", name, POLICIES, DEFERRED)
    return cls(snapshot, **spec_options("policy", name, arguments, cls.__init__))
