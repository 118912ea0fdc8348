"""The parameters of weeks online: the platform's clock and how sellers answer takedowns."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from qx_env.errors import QxError


@dataclass(frozen=True)
class OnlineConfig:
    """Rates of a run of ``days`` days. Each default names its source, or says it is a modelling choice."""

    #: Length of the run: 140 days, the 20 weeks of the paper's online deployment (Table 7).
    days: int = 140
    #: Share of independent listings (normal ones and toxic singletons) already live when the run opens; the
    #: rest arrive on days drawn uniformly over the run, about ``(1 - backlog_share) * n / days`` a day. A
    #: modelling choice: no per-day posting rate of the paper's platform is published; the share only sets
    #: how much of the index is live on day 0.
    backlog_share: float = 0.5
    #: Mean lifetime of a campaign in days (exponential); its listings arrive spread over its lifetime and
    #: campaigns start uniformly over ``[-lifetime, days)`` (a steady stream: some already run on day 0).
    #: A modelling choice of the order of account turnover: operators rotate accounts (about 10,000 new
    #: drug-selling accounts detected a month, Mackey et al.), and a campaign is its run of accounts.
    campaign_lifetime_days: float = 28.0
    #: Daily chance that a live reportable listing (one the snapshot has a report for) is reported: a report
    #: is filed a geometric number of days after the listing arrives, never once the listing is down. A
    #: modelling choice (no published per-listing reporting rate); the mean lag is ``1 / report_rate`` days.
    report_rate: float = 0.2
    #: Sellers answer takedowns by rewording (False: every listing arrives in its snapshot wording).
    adapt: bool = True
    #: Chance that a campaign rewords a phrase after a takedown names it: 1, as every one of the 17 moderated
    #: Instagram tags spawned lexical variants, about 40 each (Chancellor et al., CSCW 2016).
    adapt_rate: float = 1.0
    #: Days between a takedown and the first listing in the new wording: 1, as Alibaba handled 96% of takedown
    #: requests within 24 hours (IPR protection report 2018/19), so a seller hears of it by the next day.
    reaction_days: int = 1
    #: Variants per phrase lineage made up front (each one a chain step: a variant of the previous one). A cost
    #: bound, not a rate: black keywords run to hundreds per core word (478,879 under 1,522 cores, Yang et
    #: al., IEEE S&P 2017), but each generation multiplies a listing's dormant versions (``(G + 1)^slots``).
    max_variants: int = 3
    #: Camouflage operators applied to make each variant from the previous one (qx_env.corpus.synth's).
    operators_per_variant: int = 1
    #: Chance that a campaign's rewording comes with a move to a new account (a new seller id and new contact
    #: handles, so the graph index no longer links its new listings to the old ones). Operators do rotate
    #: accounts (about 10,000 new drug-selling accounts detected a month, Mackey et al.), but no source gives
    #: a rate per takedown, so it is off by default (a modelling choice) and a parameter to sweep.
    account_move_rate: float = 0.0

    def __post_init__(self) -> None:
        checks = (
            ("days", self.days >= 1, "at least 1"),
            ("backlog_share", 0 <= self.backlog_share <= 1, "in [0, 1]"),
            ("campaign_lifetime_days", self.campaign_lifetime_days > 0, "above 0"),
            ("report_rate", 0 < self.report_rate <= 1, "in (0, 1]"),
            ("adapt_rate", 0 <= self.adapt_rate <= 1, "in [0, 1]"),
            ("reaction_days", self.reaction_days >= 1, "at least 1 (a takedown is heard of the next day)"),
            ("max_variants", self.max_variants >= 1, "at least 1"),
            ("operators_per_variant", self.operators_per_variant >= 1, "at least 1"),
            ("account_move_rate", 0 <= self.account_move_rate <= 1, "in [0, 1]"),
        )
        for name, ok, rule in checks:
            if isinstance(getattr(self, name), bool) and name != "adapt" or not ok:
                raise QxError(f"online config: {name} must be {rule}, got {getattr(self, name)!r}")

    @property
    def weeks(self) -> int:
        """Weeks of the run, the last one possibly short."""
        return -(-self.days // 7)

    def as_dict(self) -> dict:
        return asdict(self)
