"""The policy protocol and registry: a policy reads report texts and returns ranked queries."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from qx_env.errors import QxError
from qx_env.snapshot import Snapshot
from qx_env.specs import Bound, lookup, spec_options, split_spec


class SnapshotRequired(QxError):
    """A policy fitted on a snapshot was made without one; ``policy`` is its name (the CLI words
    the fix as its ``--snapshot`` flag)."""

    def __init__(self, policy: str, otherwise: str = "") -> None:
        self.policy, self.otherwise = policy, otherwise
        cls = POLICIES.get(policy)
        made = f"make_policy({policy!r}, snapshot)" + (f" or {cls.__name__}(snapshot)" if cls else "")
        super().__init__(f"policy {policy!r} is fitted on a snapshot: pass one, e.g. {made}"
                         + (f"; or give {otherwise}" if otherwise else ""))


def require_snapshot(snapshot: Snapshot | None, policy: str) -> Snapshot:
    """``snapshot``, or :class:`SnapshotRequired` when there is none."""
    if snapshot is None:
        raise SnapshotRequired(policy)
    return snapshot


class Policy(ABC):
    """``extract(texts)`` gives a ranked list of queries per text; ``candidates(text, n)`` gives up
    to ``n`` alternative answers (each a list of queries) for preference mining."""

    name: ClassVar[str]
    #: True for policies that look at hidden labels: upper bounds only, never training data.
    uses_labels: ClassVar[bool] = False
    #: Raised when the same spec and snapshot give other queries than before (a fix that changes results):
    #: results cached by benchmarks carry it, so a cached figure of an older revision is made again.
    revision: ClassVar[int] = 1
    #: True for policies that fit a model on the snapshot's training reports when made (minutes at a
    #: million items): a scheduler of many evaluations starts them first.
    trains: ClassVar[bool] = False

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


#: Bounds on every numeric option of the policies (one meaning per name across policies); each
#: numeric option of a registered policy has one (a test checks).
OPTION_BOUNDS: dict[str, Bound] = {
    **dict.fromkeys(("top", "pool", "k", "min_n", "max_n", "min_df", "num_beams", "max_new_tokens", "batch_size",
                     "max_input_tokens", "epochs", "embedding", "hidden", "max_tokens", "concurrency"), (">=", 1)),
    **dict.fromkeys(("temperature", "seed", "retries", "backoff"), (">=", 0)),
    **dict.fromkeys(("lr", "timeout"), (">", 0)),
}


def policy_names() -> list[str]:
    """Every policy name :func:`make_policy` takes, registered or imported on first use, sorted."""
    return sorted({*POLICIES, *DEFERRED})


def policy_class(spec: str) -> type[Policy]:
    """The class of policy ``spec`` (its name, options ignored), imported on first use."""
    return lookup("policy", split_spec(spec)[0], POLICIES, DEFERRED)


def make_policy(spec: str, snapshot: Snapshot | None = None) -> Policy:
    """A policy from ``name`` or ``name:key=value,key=value`` (e.g. ``tfidf:top=3``); numeric
    options outside :data:`OPTION_BOUNDS` are refused."""
    name, arguments = split_spec(spec)
    cls = policy_class(name)
    return cls(snapshot, **spec_options("policy", name, arguments, cls.__init__, OPTION_BOUNDS))
