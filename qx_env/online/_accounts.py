"""The hidden record of which account a campaign posts from as it rewords: with chance ``account_move_rate`` a
rewording comes with a move to a new account, whose listings carry a new seller id and new contact handles
(the ones the graph index reads), so a reworded listing is no longer linked to the old account's listings."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from indexes import HANDLE_PATTERN
from qx_env.online._lineage import keyed_rng

_DIGIT = re.compile(r"\d")


def campaign_handles(texts: list[str]) -> list[str]:
    """The contact handles written in a campaign's texts as the graph index reads them, each as written."""
    return sorted({m.group(0).rstrip("./") for text in texts for m in HANDLE_PATTERN.finditer(text)})


def renewed_handle(handle: str, rng: random.Random) -> str:
    """``handle`` on a new account: its digits drawn again (a handle without digits, a URL, gets two after its
    first label), so it reads as a handle of the same kind and never as the old one."""
    if _DIGIT.search(handle):
        while True:
            new = _DIGIT.sub(lambda _: str(rng.randrange(10)), handle)
            if new != handle:
                return new
    head, dot, tail = handle.partition(".")
    return f"{head}{rng.randrange(10, 100)}{dot}{tail}"


@dataclass(frozen=True)
class Accounts:
    """``moves[campaign]``: whether the campaign's k-th rewording (k = 1, 2, ...) came with a new account;
    ``handles[campaign][account - 1]``: its handles (old -> new) on each account after the first."""

    moves: dict[str, tuple[bool, ...]]
    handles: dict[str, tuple[dict[str, str], ...]]

    @classmethod
    def make(cls, campaign_texts: dict[str, list[str]], rewordings: int, rate: float, seed: int = 0) -> Accounts:
        """Draw each campaign's moves over its first ``rewordings`` rewordings and the handles of each account
        it moves to (none at ``rate`` 0)."""
        moves, handles = {}, {}
        for campaign in sorted(campaign_texts):
            rng = keyed_rng(seed, campaign, "accounts")
            moves[campaign] = tuple(rate > 0 and rng.random() < rate for _ in range(rewordings))
            found = campaign_handles(campaign_texts[campaign])
            handles[campaign] = tuple({h: renewed_handle(h, rng) for h in found}
                                      for _ in range(sum(moves[campaign])))
        return cls(moves, handles)

    def account(self, campaign: str | None, rewordings: int) -> int:
        """The account (0: the first) a campaign posts from after ``rewordings`` rewordings."""
        if campaign is None or not rewordings:
            return 0
        return sum(self.moves.get(campaign, ())[:rewordings])

    def replacements(self, campaign: str | None, account: int) -> dict[str, str]:
        """Old handle -> the one the campaign gives on ``account``."""
        return dict(self.handles[campaign][account - 1]) if account and campaign is not None else {}

    def seller(self, seller: str | None, account: int) -> str | None:
        """The seller id of ``seller``'s campaign on ``account``."""
        return seller if not account or seller is None else f"{seller}~a{account}"

    def as_records(self) -> list[dict]:
        """The record as rows: campaign, the rewordings that moved it, and each new account's handles."""
        return [{"campaign": c, "moves": [k + 1 for k, moved in enumerate(m) if moved],
                 "handles": [dict(h) for h in self.handles[c]]} for c, m in self.moves.items() if any(m)]
