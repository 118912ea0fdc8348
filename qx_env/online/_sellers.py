"""Sellers who answer takedowns. When a query takes down a campaign's listing, the takedown notice names the
listing's wording the query matched; the campaign rewrites each of its phrases the query touched with the
next variant of its lineage, in the listings it posts from ``reaction_days`` later. Listings already live keep
their wording; a campaign nothing hits keeps its wording."""

from __future__ import annotations

import re

import numpy as np

from qx_env.online._world import OnlineWorld

_WORD = re.compile(r"\w+")


def _units(text: str, language: str) -> set[str]:
    """What two wordings must share to touch: character bigrams (zh, spaces and case ignored) or words (en)."""
    text = text.lower()
    if language == "zh":
        text = "".join(text.split())
        return {text[i:i + 2] for i in range(len(text) - 1)} or ({text} if text else set())
    return set(_WORD.findall(text))


class Sellers:
    """Each campaign's current generation of each phrase, and the rewordings due on later days."""

    def __init__(self, world: OnlineWorld, rng: np.random.Generator) -> None:
        self.world, self.rng = world, rng
        self.config = world.config
        self.generation: dict[tuple[str, str], int] = {}
        self._due: list[tuple[int, str, str, int, str]] = []
        #: Every rewording that took effect: ``{"day", "campaign", "phrase", "generation", "wording", "query"}``.
        self.events: list[dict] = []

    def generations(self, p: int) -> tuple[int, ...]:
        """The generation each slot of base item ``p`` is written at if it is posted now."""
        campaign = self.world.campaign_of[p]
        return tuple(self.generation.get((campaign, s), 0) for s in self.world.slots[p])

    def start_day(self, day: int) -> None:
        """Rewordings due by ``day`` take effect (before the day's listings are posted)."""
        due = sorted(d for d in self._due if d[0] <= day)
        self._due = [d for d in self._due if d[0] > day]
        for _, campaign, phrase, generation, query in due:
            if generation > self.generation.get((campaign, phrase), 0):
                self.generation[campaign, phrase] = generation
                self.events.append({"day": day, "campaign": campaign, "phrase": phrase, "generation": generation,
                                    "wording": self.world.lineage.wording(campaign, phrase, generation),
                                    "query": query})

    def taken_down(self, day: int, query: str, p: int, generations: tuple[int, ...]) -> None:
        """Base item ``p``, live at ``generations``, was taken down by ``query`` on ``day``: each of its slots the
        query touches moves to the next variant (up to the last one made), with chance ``adapt_rate``."""
        if not self.config.adapt or not self.world.slots[p]:
            return
        campaign = self.world.campaign_of[p]
        language = self.world.base.language
        asked = _units(query, language)
        for phrase, generation, wording in zip(self.world.slots[p], generations, self.world.wording(p, generations)):
            if not asked & _units(wording, language):
                continue
            if self.config.adapt_rate < 1 and self.rng.random() >= self.config.adapt_rate:
                continue
            target = min(generation + 1, self.config.max_variants)
            if target > self.generation.get((campaign, phrase), 0):
                self._due.append((day + self.config.reaction_days, campaign, phrase, target, query))
