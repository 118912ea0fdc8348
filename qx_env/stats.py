"""Statistics that decide a comparison, with the campaign as the unit of evidence.

Reports of one campaign find the same items, so they are not independent: every interval here is a
bootstrap over campaigns (a singleton report is its own campaign), worlds (seeds) are strata
resampled separately, and every comparison is paired on the same reports, with a sign-flip
randomization test at the campaign level (swap the two arms within a campaign). Clustered errors are
the honest ones when items share a cluster (Miller, arXiv 2411.00640); paired bootstrap and
randomization tests keep their error rates in IR evaluation (Smucker, Allan and Carterette, CIKM 2007).

A rate is a ratio of sums over reports (query hit rate: effective queries / queries; precision: toxic
exposed / exposed), as the paper's Table 5 pools them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Bootstrap resamples of every interval, and the fixed seed of every draw (same input, same bytes).
RESAMPLES = 2000
SEED = 0
#: Sign-flip draws of a p-value: the smallest p they can give is 1 / (FLIPS + 1), so that Holm's
#: adjustment across a table of 50 comparisons can still reach 0.0025.
FLIPS = 20000
#: Interval level, test size and power of the minimal detectable difference.
LEVEL = 0.95
ALPHA = 0.05
POWER = 0.80
#: Up to this many campaigns the sign-flip test enumerates every flip (2^n) instead of drawing them.
EXACT_FLIPS_UP_TO = 12


@dataclass(frozen=True)
class Rate:
    """A rate's numerator and denominator columns of the per-report record."""

    name: str
    numerator: str
    denominator: str
    description: str


#: The rates a comparison can be made on.
RATES = {rate.name: rate for rate in (
    Rate("query_hit_rate", "effective_queries", "queries", "queries that exposed a toxic item / queries"),
    Rate("precision", "hits", "exposed", "toxic items exposed / items exposed"),
)}


@dataclass(frozen=True)
class Campaigns:
    """Which campaign each report belongs to, and which world (stratum) each campaign is in."""

    codes: np.ndarray  # campaign index of each report, 0..count-1
    strata: np.ndarray  # stratum index of each campaign
    singletons: int  # campaigns of one report

    @classmethod
    def of(cls, campaigns: Sequence[str], worlds: Sequence[str] | None = None) -> Campaigns:
        """Campaigns from each report's campaign name (and world, when reports come from several)."""
        worlds = ["" for _ in campaigns] if worlds is None else list(worlds)
        if len(worlds) != len(campaigns):
            raise ValueError(f"{len(campaigns)} campaigns but {len(worlds)} worlds")
        keys = np.array([f"{w}\0{c}" for w, c in zip(worlds, campaigns)], dtype=object)
        unique, codes, sizes = np.unique(keys, return_inverse=True, return_counts=True)
        world_names = np.array([k.split("\0", 1)[0] for k in unique], dtype=object)
        strata = np.unique(world_names, return_inverse=True)[1] if len(unique) else np.empty(0, np.int64)
        return cls(codes.astype(np.int64).ravel(), np.asarray(strata, np.int64), int((sizes == 1).sum()))

    @property
    def count(self) -> int:
        return len(self.strata)

    @property
    def reports(self) -> int:
        return len(self.codes)

    def sums(self, values: Sequence[float]) -> np.ndarray:
        """Each campaign's sum of a per-report value."""
        return np.bincount(self.codes, weights=np.asarray(values, dtype=np.float64), minlength=self.count)

    def resample_counts(self, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
        """(resamples, campaigns) draw counts: each stratum's campaigns drawn with replacement, as many as it has."""
        rng = np.random.default_rng(seed)
        counts = np.zeros((resamples, self.count))
        for stratum in np.unique(self.strata):
            members = np.flatnonzero(self.strata == stratum)
            counts[:, members] = rng.multinomial(len(members), np.full(len(members), 1 / len(members)), size=resamples)
        return counts


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    top, bottom = np.asarray(top, dtype=np.float64), np.asarray(bottom, dtype=np.float64)
    return np.divide(top, bottom, out=np.zeros(np.broadcast(top, bottom).shape), where=bottom > 0)


@dataclass(frozen=True)
class Estimate:
    """A rate, its percentile bootstrap interval over campaigns and its bootstrap standard error."""

    value: float
    low: float
    high: float
    se: float

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "se": self.se}


def _estimate(top: np.ndarray, bottom: np.ndarray, counts: np.ndarray | None, level: float) -> tuple[Estimate, np.ndarray]:
    """The rate of campaign sums ``top / bottom`` with its interval from the resample ``counts`` (None: no
    campaign to resample), and the resampled rates."""
    value = float(_ratio(top.sum(), bottom.sum()))
    if counts is None:
        return Estimate(value, value, value, 0.0), np.full(1, value)
    draws = _ratio(counts @ top, counts @ bottom)
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(round(value, 6), round(float(low), 6), round(float(high), 6),
                    round(float(draws.std(ddof=1)), 6)), draws


def _counts(campaigns: Campaigns, resamples: int, seed: int) -> np.ndarray | None:
    return campaigns.resample_counts(resamples, seed) if campaigns.count else None


def rate_estimate(numerators: Sequence[float], denominators: Sequence[float], campaigns: Campaigns,
                  resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> Estimate:
    """sum(numerators) / sum(denominators) with a bootstrap over campaigns (within strata)."""
    counts = _counts(campaigns, resamples, seed)
    return _estimate(campaigns.sums(numerators), campaigns.sums(denominators), counts, level)[0]


def minimal_detectable_difference(se: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest true difference a two-sided test at ``alpha`` finds with probability ``power``,
    given the difference's standard error: (z_{1-alpha/2} + z_power) * se (2.80 se at 0.05 and 80%)."""
    from scipy.stats import norm

    return float((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * se)


def sign_flip_p_value(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
                      resamples: int = FLIPS, seed: int = SEED) -> float:
    """Two-sided p-value of ratio(a) - ratio(b) from campaign sums ``(numerators, denominators)`` of
    each arm, swapping the arms within each campaign at random (every swap pattern when there are at
    most :data:`EXACT_FLIPS_UP_TO` campaigns; else ``resamples`` draws, p = (1 + extreme) / (1 + draws))."""
    (an, ad), (bn, bd) = (np.asarray(x, np.float64) for x in a), (np.asarray(x, np.float64) for x in b)
    count = len(an)
    observed = abs(float(_ratio(an.sum(), ad.sum()) - _ratio(bn.sum(), bd.sum())))
    if count == 0:
        return 1.0
    exact = count <= EXACT_FLIPS_UP_TO
    if exact:
        flips = ((np.arange(2 ** count)[:, None] >> np.arange(count)) & 1).astype(np.float64)
    else:
        flips = np.random.default_rng(seed).integers(0, 2, size=(resamples, count)).astype(np.float64)
    stat = np.abs(_ratio(flips @ bn + (1 - flips) @ an, flips @ bd + (1 - flips) @ ad)
                  - _ratio(flips @ an + (1 - flips) @ bn, flips @ ad + (1 - flips) @ bd))
    extreme = int((stat >= observed - 1e-12).sum())
    return extreme / len(flips) if exact else (1 + extreme) / (1 + len(flips))


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of two arms on the same reports: the difference A - B of a rate, its 95%
    bootstrap interval over campaigns, the sign-flip p-value, and the minimal detectable difference."""

    rate: str
    a: Estimate
    b: Estimate
    difference: float
    low: float
    high: float
    se: float
    p_value: float
    mdd: float
    reports: int
    campaigns: int
    singletons: int
    p_adjusted: float | None = None

    def as_dict(self) -> dict:
        return {"rate": self.rate, "a": self.a.as_dict(), "b": self.b.as_dict(), "difference": self.difference,
                "low": self.low, "high": self.high, "se": self.se, "p_value": self.p_value, "mdd": self.mdd,
                "reports": self.reports, "campaigns": self.campaigns, "singletons": self.singletons,
                "p_adjusted": self.p_adjusted}


def paired_comparison(a: tuple[Sequence[float], Sequence[float]], b: tuple[Sequence[float], Sequence[float]],
                      campaigns: Campaigns, rate: str = "query_hit_rate", resamples: int = RESAMPLES,
                      seed: int = SEED, level: float = LEVEL, flips: int = FLIPS) -> Comparison:
    """Compare two arms' per-report ``(numerators, denominators)`` on the same reports: both arms drawn
    with the same campaign resamples, so the interval is of the paired difference."""
    sa = campaigns.sums(a[0]), campaigns.sums(a[1])
    sb = campaigns.sums(b[0]), campaigns.sums(b[1])
    counts = _counts(campaigns, resamples, seed)  # one set of resamples serves both arms and their difference
    est_a, draws_a = _estimate(*sa, counts, level)
    est_b, draws_b = _estimate(*sb, counts, level)
    difference = float(_ratio(sa[0].sum(), sa[1].sum()) - _ratio(sb[0].sum(), sb[1].sum()))
    if counts is not None:
        draws = draws_a - draws_b
        low, high = (float(x) for x in np.quantile(draws, [(1 - level) / 2, (1 + level) / 2]))
        se = float(draws.std(ddof=1))
    else:
        low = high = difference
        se = 0.0
    p_value = sign_flip_p_value(sa, sb, flips, seed)
    return Comparison(rate, est_a, est_b, round(difference, 6), round(low, 6), round(high, 6), round(se, 6),
                      round(p_value, 6), round(minimal_detectable_difference(se), 6), campaigns.reports,
                      campaigns.count, campaigns.singletons)


def relative_increment(base: Sequence[float], combined: Sequence[float], campaigns: Campaigns,
                       rate: str = "increment", resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL,
                       flips: int = FLIPS) -> Comparison:
    """The relative increment ``sum(combined) / sum(base) - 1`` of a per-report count (the paper's Table 7:
    detections or hit queries with the model's queries added to the human ones), as a paired comparison of
    ``(combined, base)`` against ``(base, base)``: its interval is the campaign bootstrap of the ratio of
    sums, and the sign-flip test swaps a campaign's base and combined counts (no increment under the null)."""
    return paired_comparison((combined, base), (base, base), campaigns, rate=rate, resamples=resamples, seed=seed,
                             level=level, flips=flips)


@dataclass(frozen=True)
class WorldSpread:
    """A paired difference world by world, and the t-interval of their mean over the worlds. The campaign
    interval (worlds as strata) is conditional on the worlds drawn; this one asks what another draw of
    worlds could give, so it is wider where the difference moves from world to world."""

    per_world: dict[str, float]
    mean: float
    low: float
    high: float

    def as_dict(self) -> dict:
        return {"per_world": self.per_world, "mean": self.mean, "low": self.low, "high": self.high}


def between_worlds(a: tuple[Sequence[float], Sequence[float]], b: tuple[Sequence[float], Sequence[float]],
                   worlds: Sequence[str], level: float = LEVEL) -> WorldSpread | None:
    """Each world's difference of two arms' rates (per-report ``(numerators, denominators)`` on the same
    reports, ``worlds`` naming each report's world), and Student's t-interval of their unweighted mean;
    None with fewer than two worlds."""
    from scipy.stats import t

    names = list(dict.fromkeys(worlds))
    if len(names) < 2:
        return None
    where = np.asarray(worlds)
    arrays = [np.asarray(x, dtype=np.float64) for x in (*a, *b)]
    per_world = {}
    for name in names:
        mask = where == name
        top_a, bottom_a, top_b, bottom_b = (float(x[mask].sum()) for x in arrays)
        per_world[name] = round(float(_ratio(top_a, bottom_a) - _ratio(top_b, bottom_b)), 6)
    values = np.array(list(per_world.values()))
    mean = float(values.mean())
    half = float(t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return WorldSpread(per_world, round(mean, 6), round(mean - half, 6), round(mean + half, 6))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (family-wise error) of a table's p-values, in their order."""
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    result = np.empty(len(p))
    result[order] = np.minimum(adjusted, 1.0)
    return [round(float(x), 6) for x in result]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), in their order (scipy's own)."""
    from scipy.stats import false_discovery_control

    if not len(p_values):
        return []
    return [round(float(x), 6) for x in false_discovery_control(np.asarray(p_values, dtype=np.float64))]


#: Adjustments across a table's comparisons.
ADJUSTMENTS = {"holm": holm, "bh": benjamini_hochberg}


def adjust(comparisons: Sequence[Comparison], method: str = "holm") -> list[Comparison]:
    """The comparisons with ``p_adjusted`` filled in by ``method`` (holm or bh) across all of them."""
    import dataclasses

    if method not in ADJUSTMENTS:
        raise ValueError(f"unknown p-value adjustment {method!r}; choose from {', '.join(ADJUSTMENTS)}")
    adjusted = ADJUSTMENTS[method]([c.p_value for c in comparisons])
    return [dataclasses.replace(c, p_adjusted=p) for c, p in zip(comparisons, adjusted)]


#: A claim's verdicts.
HOLDS, DOES_NOT_HOLD, REVERSED, UNDECIDED = "holds", "does not hold", "reversed", "undecided"


def verdict(comparison: Comparison, claimed: float, alpha: float = ALPHA) -> str:
    """A claim that A - B is ``claimed`` (its sign the claimed direction, its size the paper's effect):
    it holds when the difference is significant in that direction; it is reversed when significant the
    other way; it does not hold when the test could have detected the paper's effect (minimal detectable
    difference at most |claimed|) and found nothing; otherwise it is undecided by this test set."""
    p = comparison.p_adjusted if comparison.p_adjusted is not None else comparison.p_value
    return verdict_of(comparison.difference, p, comparison.mdd, claimed, alpha)


def verdict_of(difference: float, p: float, mdd: float, claimed: float, alpha: float = ALPHA) -> str:
    """:func:`verdict` from the figures it reads: the difference, its (adjusted) p-value and its minimal
    detectable difference."""
    if p < alpha:
        return HOLDS if np.sign(difference) == np.sign(claimed) else REVERSED
    return DOES_NOT_HOLD if mdd <= abs(claimed) else UNDECIDED
