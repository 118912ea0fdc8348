"""Reward terms: each a small declarative unit over a :class:`~qx_env.types.StepOutcome`, chosen
by name and combined with weights. Costs are negative, so every weight is a positive "how much"."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from qx_env.errors import QxError
from qx_env.types import StepOutcome


@dataclass(frozen=True)
class RewardTerm:
    name: str
    description: str
    compute: Callable[[StepOutcome], float]


def _new_toxic(step: StepOutcome) -> float:
    return float(sum(len(q.new) for q in step.queries))


def _hit(step: StepOutcome) -> float:
    return float(sum(q.effective for q in step.queries))


def _ratio(step: StepOutcome) -> float:
    return sum(q.toxic_ratio for q in step.queries) / len(step.queries) if step.queries else 0.0


def pooled_toxic_ratio(toxic_hits: Iterable[int], exposed: Iterable[int]) -> float:
    """Toxic items / exposed items pooled over several queries (0 when nothing was exposed): the
    toxic ratio of a whole answer, as preference pairs (paper eq. 4) compare answers."""
    exposed_total = sum(exposed)
    return sum(toxic_hits) / exposed_total if exposed_total else 0.0


def _pooled_ratio(step: StepOutcome) -> float:
    return pooled_toxic_ratio((q.toxic_hits for q in step.queries), (len(q.exposed) for q in step.queries))


def _distinct_toxic_log(step: StepOutcome) -> float:
    found = np.unique(np.concatenate([q.toxic for q in step.queries])) if step.queries else ()
    return math.log1p(len(found))


def _query_cost(step: StepOutcome) -> float:
    return -float(len(step.queries))


def _exposure_cost(step: StepOutcome) -> float:
    return -sum((len(q.exposed) - len(q.toxic)) / step.k for q in step.queries)


def _format(step: StepOutcome) -> float:
    return 0.0 if step.well_formed else -1.0


REWARDS: dict[str, RewardTerm] = {
    term.name: term
    for term in (
        RewardTerm("new_toxic", "toxic items detected for the first time", _new_toxic),
        RewardTerm("hit", "queries with at least one toxic item in the top k (effective queries)", _hit),
        RewardTerm("ratio", "mean toxic ratio (toxic / exposed) of the step's queries", _ratio),
        RewardTerm("pooled_ratio", "toxic items / exposed items over all the step's queries", _pooled_ratio),
        RewardTerm("distinct_toxic_log", "log(1 + distinct toxic items the step's queries exposed)",
                   _distinct_toxic_log),
        RewardTerm("query_cost", "minus the number of queries searched", _query_cost),
        RewardTerm("exposure_cost", "minus the normal items exposed, in units of k (auditor load)", _exposure_cost),
        RewardTerm("format", "-1 when a model answer could not be parsed", _format),
    )
}


_TERM = re.compile(r"(?:(?P<weight>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\*)?(?P<name>[A-Za-z_]\w*)")


def _parse_terms(text: str) -> dict[str, float]:
    """``NAME`` or ``WEIGHT*NAME`` terms joined by ``+``; a syntax error names the term and the grammar."""
    if not text.strip():
        raise QxError("the reward is empty: name at least one term, e.g. new_toxic")
    weights: dict[str, float] = {}
    for part in text.replace(" ", "").split("+"):
        match = _TERM.fullmatch(part)
        if match is None:
            raise QxError(f"cannot read reward term {part!r} of {text!r} (a syntax error): write terms as NAME or "
                          f"WEIGHT*NAME joined by +, e.g. new_toxic+0.1*query_cost")
        weight = match["weight"]
        weights[match["name"]] = weights.get(match["name"], 0.0) + (float(weight) if weight else 1.0)
    return weights


@dataclass(frozen=True)
class Reward:
    """A weighted sum of reward terms; :meth:`components` reports each term's weighted value."""

    weights: tuple[tuple[str, float], ...]

    @classmethod
    def parse(cls, spec: str | Mapping[str, float] | Reward) -> Reward:
        """``"new_toxic"``, ``"new_toxic+0.1*query_cost"`` or ``{"new_toxic": 1, "query_cost": 0.1}``."""
        if isinstance(spec, Reward):
            return spec
        if isinstance(spec, str):
            spec = _parse_terms(spec)
        if not isinstance(spec, Mapping):
            raise QxError(f"a reward is a string like 'new_toxic+0.1*query_cost' or a dict of term weights, "
                          f"got {type(spec).__name__}")
        unknown = [name for name in spec if name not in REWARDS]
        if unknown or not spec:
            raise QxError(f"unknown reward term(s) {unknown or '(none given)'}; choose from {', '.join(REWARDS)}")
        weights = []
        for name, weight in spec.items():
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not math.isfinite(weight):
                raise QxError(f"the weight of reward term {name!r} must be a finite number, got {weight!r}")
            weights.append((name, float(weight)))
        return cls(tuple(weights))

    def components(self, step: StepOutcome) -> dict[str, float]:
        return {name: weight * REWARDS[name].compute(step) for name, weight in self.weights}

    def __call__(self, step: StepOutcome) -> tuple[float, dict[str, float]]:
        parts = self.components(step)
        return sum(parts.values()), parts
