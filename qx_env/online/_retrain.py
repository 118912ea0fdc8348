"""Policies in time (issue 31, item 3): a source of :func:`qx_env.online.simulate_weeks` rebuilt from the
reports filed so far on a schedule. A model trained on the first weeks' reports meets the later ones
(``until``: trained once, then kept), or is trained again every ``every`` weeks on everything filed by then.
The training is the caller's (a policy's own fitting, the mining and DPO pipeline, or a user's function):
this layer only calls it, with what the platform has seen."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qx_env.errors import QxError

#: A policy's ``extract``: the reported listings' texts -> each one's queries.
Extract = Callable[[list[str]], Sequence[Sequence[str]]]
#: The platform's answer to queries as it stands at a fit: each query's (items exposed, toxic items among them),
#: searched without taking anything down (:meth:`qx_env.online.Platform.probe`).
Probe = Callable[[Sequence[str]], list[tuple[int, int]]]


@dataclass(frozen=True)
class FiledReport:
    """A report as the platform received it: its listing's text as posted (the wording its campaign used that
    day) and the auditors' marks on that text. Hidden records (labels, campaigns) are not part of it."""

    report_id: str
    day: int
    text: str
    annotations: tuple[str, ...]


@dataclass(frozen=True)
class Retrain:
    """A source trained on the reports filed so far. At the end of each week ``w`` with ``w % every == 0``
    (and ``w <= until`` when ``until`` is set) ``fit(reports)`` is called with every report filed since day 0,
    in filing order, and returns the new policy: an object with ``extract`` or a function from texts to
    queries, or None to keep the current one (nothing to learn from yet). A ``fit`` that takes a second
    argument gets a :data:`Probe` too, the platform's answer to queries as it stands then (what mining
    feedback for DPO asks of it). Until the first fit the source asks ``initial``'s queries, or none."""

    fit: Callable[[Sequence[FiledReport]], object]
    every: int = 1
    until: int | None = None
    initial: Extract | None = None

    def __post_init__(self) -> None:
        if not callable(self.fit):
            raise QxError(f"retrain: fit must be a function from the filed reports to a policy, got {self.fit!r}")
        for name, value in (("every", self.every), ("until", self.until)):
            if value is None and name == "until":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise QxError(f"retrain: {name} must be a whole number of weeks of at least 1, got {value!r}")
        if self.until is not None and self.until < self.every:
            raise QxError(f"retrain: until (week {self.until}) comes before the first fit (week {self.every}): "
                          "the source would never be trained")
        if self.initial is not None and not callable(self.initial):
            raise QxError(f"retrain: initial must be a function from texts to queries, got {self.initial!r}")

    def due(self, week: int) -> bool:
        """Whether the source is trained at the end of ``week`` (1-based)."""
        return week % self.every == 0 and (self.until is None or week <= self.until)

    @property
    def probes(self) -> bool:
        """Whether ``fit`` takes the platform's :data:`Probe` as its second argument."""
        try:
            parameters = inspect.signature(self.fit).parameters.values()
        except (TypeError, ValueError):
            return False
        positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in parameters)

    def refit(self, reports: Sequence[FiledReport], probe: Probe | None = None) -> Extract | None:
        """The new policy's ``extract`` from ``fit(reports[, probe])``, or None where ``fit`` kept the current
        one."""
        probes = self.probes
        if probes and probe is None:
            raise QxError("retrain: this fit takes the platform's probe, and none was given")
        model = self.fit(tuple(reports), probe) if probes else self.fit(tuple(reports))
        if model is None:
            return None
        extract = getattr(model, "extract", model)
        if not callable(extract):
            raise QxError(f"retrain: fit returned {model!r}, neither a policy with extract nor a function from "
                          "texts to queries (None keeps the current one)")
        return extract
