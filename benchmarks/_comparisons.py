"""Paired comparisons of a policies x modes table: each policy against a reference policy within each
mode, and each mode against a reference mode for each policy, on the same reports, Holm-adjusted
together (:mod:`qx_env.stats`). The suite and the modes benchmark share them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from benchmarks._common import markdown_table

#: Per-report columns of a cell, and each report's world (None: one world).
Cell = tuple[Mapping[str, list], Sequence[str] | None]


def table_comparisons(cells: Mapping[tuple[str, str], Cell], policies: Sequence[str], modes: Sequence[str],
                      reference: str, reference_mode: str, rate: str = "query_hit_rate") -> list[dict]:
    """Every policy against ``reference`` (within each mode) and every mode against ``reference_mode``
    (for each policy), paired over campaigns, with Holm's adjustment across all of them; with several
    worlds, also each world's difference and the t-interval over worlds (``between_worlds``)."""
    from qx_env.runs import compare_per_report, paired_columns
    from qx_env.stats import RATES, adjust, between_worlds

    planned = []
    for mode in modes:
        for policy in policies:
            if policy != reference and reference in policies:
                planned.append(("policy", mode, policy, reference, cells[policy, mode], cells[reference, mode]))
            if mode != reference_mode and reference_mode in modes:
                planned.append(("mode", policy, mode, reference_mode, cells[policy, mode], cells[policy, reference_mode]))
    made = adjust([compare_per_report(a[0], b[0], (rate,), worlds=a[1])[0] for *_, a, b in planned], "holm")
    numerator, denominator = RATES[rate].numerator, RATES[rate].denominator
    out = []
    for (kind, within, compared, against, a, b), c in zip(planned, made):
        row = {"kind": kind, "within": within, "compared": compared, "against": against, **c.as_dict()}
        if a[1]:
            aligned = paired_columns(a[0], b[0])
            spread = between_worlds((a[0][numerator], a[0][denominator]), (aligned[numerator], aligned[denominator]),
                                    a[1])
            if spread is not None:
                row["between_worlds"] = spread.as_dict()
        out.append(row)
    return out


def difference_cells(comparison: dict | None) -> list[str]:
    """The difference [interval], Holm p and detectable difference of a comparison, as table cells."""
    if comparison is None:
        return ["reference", "-", "-"]
    c = comparison
    return [f"{c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]", f"{c['p_adjusted']:.4f}", f"{c['mdd']:.3f}"]


def between_worlds_cell(comparison: dict | None) -> str:
    """The mean of the worlds' differences with its t-interval over worlds, or "-" (one world, or none)."""
    spread = (comparison or {}).get("between_worlds")
    return f"{spread['mean']:+.3f} [{spread['low']:+.3f}, {spread['high']:+.3f}]" if spread else "-"


#: The header of :func:`between_worlds_cell`'s column.
BETWEEN_WORLDS = "between worlds: mean [95% t-interval]"


def modes_table(comparisons: list[dict], reference_mode: str) -> str:
    """Each mode against the reference mode, per policy (claim (a): keyword exact against the broad modes)."""
    body = [[c["within"], f"{c['compared']} minus {c['against']}", *difference_cells(c), between_worlds_cell(c)]
            for c in comparisons if c["kind"] == "mode"]
    return markdown_table(["policy", f"mode minus {reference_mode}", "difference in query hit rate [95% CI]",
                           "p (Holm)", "detectable", BETWEEN_WORLDS], body)


def rate_columns(columns: Mapping[str, list], worlds: Sequence[str] | None = None) -> dict:
    """Each rate of per-report columns with its 95% interval and standard error over campaigns (worlds as
    strata), and the counts behind them: reports, campaigns, singletons."""
    from qx_env.stats import RATES, Campaigns, rate_estimate

    campaigns = Campaigns.of(columns["campaign"], worlds)
    row: dict = {"reports": campaigns.reports, "campaigns": campaigns.count, "singletons": campaigns.singletons}
    for name, rate in RATES.items():
        estimate = rate_estimate(columns[rate.numerator], columns[rate.denominator], campaigns)
        row[name], row[f"{name}_ci"], row[f"{name}_se"] = estimate.value, (estimate.low, estimate.high), estimate.se
    return row


def stack_worlds(parts: Iterable[tuple[str, Mapping[str, list], str]]) -> tuple[dict[str, list], list[str]]:
    """Per-report columns of several worlds one after another, and each report's world, from
    ``(world, per_report, id_prefix)`` parts: report ids take ``id_prefix`` (unique across the parts),
    campaigns take ``world/`` (a campaign is one world's, whichever part its rows come from)."""
    columns: dict[str, list] = {}
    worlds: list[str] = []
    for world, per_report, prefix in parts:
        for name, values in per_report.items():
            if name == "report_id":
                values = [f"{prefix}{v}" for v in values]
            elif name == "campaign":
                values = [f"{world}/{v}" for v in values]
            columns.setdefault(name, []).extend(values)
        worlds += [world] * len(per_report["report_id"])
    return columns, worlds
