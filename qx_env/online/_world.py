"""The world of a run: the snapshot's items and, dormant behind them, every version a campaign listing can
come online in once its sellers reword.

Why a live mask and not index updates. Every version a listing can take is known up front (a lineage of
``max_variants`` variants per phrase), so the world is indexed once and the clock only flips bits of the
search system's live mask (:meth:`qx_env.search.SearchSystem.revive` / ``remove``), which every index
already honours (Lucene through a live-docs bitset, faiss and the graph by the same mask). Measured on this
2-core machine (20k zh items, keyword index): building the Lucene index took 18.1 s; adding 1,000 documents
to it through a Lucene IndexWriter and reopening a near-real-time reader took 1.2 s; flipping 1,000 items'
live bits and searching took 1.7 ms (a search alone 1.5 ms); a faiss flat index's ``add`` of 1,000 vectors
took 66 ms before any encoding. A day's arrivals are thousands of items on a 1M world, so the mask costs
nothing next to the searches, keeps Lucene doc ids (hence score ties) fixed, and needs no JVM writer. Its
price is the dormant versions: ``(max_variants + 1)^slots - 1`` rows per campaign listing, 15 for one with two
phrases at the default 3 (0.3% toxic items make that about 4% more rows).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from qx_env.errors import QxError
from qx_env.online._accounts import Accounts
from qx_env.online._config import OnlineConfig
from qx_env.online._lineage import Lineage
from qx_env.online._rewrite import Rewrite
from qx_env.online._timeline import campaign_members
from qx_env.snapshot import Snapshot, SnapshotMeta

#: Phrases of one listing that can be reworded: the synthetic generator writes one or two risk phrases into
#: a campaign listing; more would multiply its dormant versions.
MAX_SLOTS = 2
#: Column of the world's items naming the base item a dormant version is of (null for the base items).
ORIGIN_COLUMN = "online_of"


@dataclass
class OnlineWorld:
    """The snapshot the search system indexes (the base items first, then the dormant versions), and how
    they relate: ``campaign_of`` and ``slots`` (the phrases that can be reworded) of each base item,
    ``versions[p][generations]`` the world position of base item ``p`` with its slots at those generations,
    ``origin[x]`` the base position of world item ``x``; ``accounts`` the accounts campaigns move to as they
    reword (none unless ``config.account_move_rate``)."""

    snapshot: Snapshot
    base: Snapshot
    config: OnlineConfig
    lineage: Lineage
    campaign_of: list[str | None]
    slots: list[tuple[str, ...]]
    versions: dict[int, dict[tuple[int, ...], int]] = field(default_factory=dict)
    accounts: Accounts = field(default_factory=lambda: Accounts({}, {}))

    @property
    def origin(self) -> np.ndarray:
        origin = np.arange(len(self.snapshot), dtype=np.int64)
        for p, versions in self.versions.items():
            origin[list(versions.values())] = p
        return origin

    def position(self, p: int, generations: tuple[int, ...]) -> int:
        """The world position of base item ``p`` written at ``generations`` (one per slot; all 0: itself)."""
        if not any(generations):
            return p
        return self.versions[p][generations]

    def account(self, p: int, generations: tuple[int, ...]) -> int:
        """The account base item ``p`` is posted from at ``generations`` (its campaign's rewordings so far, as
        this listing's slots count them; 0: the snapshot's)."""
        return self.accounts.account(self.campaign_of[p], sum(generations))

    def replacements(self, p: int, generations: tuple[int, ...]) -> dict[str, str]:
        """Phrase -> variant of base item ``p`` at ``generations``, and old -> new contact handle when the campaign
        has moved account by then."""
        campaign = self.campaign_of[p]
        moved = self.accounts.replacements(campaign, self.account(p, generations))
        return moved | {phrase: self.lineage.wording(campaign, phrase, g)
                        for phrase, g in zip(self.slots[p], generations) if g}

    def wording(self, p: int, generations: tuple[int, ...]) -> tuple[str, ...]:
        """Each slot of base item ``p`` as written at ``generations``."""
        return tuple(self.lineage.wording(self.campaign_of[p], s, g) for s, g in zip(self.slots[p], generations))

    def marks(self, p: int, generations: tuple[int, ...], marked: list[str]) -> list[str]:
        """An auditor's marks on base item ``p`` as they read on its version at ``generations`` (auditors mark
        the listing they see)."""
        replacements = self.replacements(p, generations)
        if not replacements:
            return list(marked)
        rewrite = Rewrite(self.base.texts[p], replacements)
        return [rewrite.span(m) for m in marked]


def _recipe(base: Snapshot, config: OnlineConfig, seed: int) -> str:
    """What the world's rows depend on: the base items, the lineage settings and the seed."""
    wanted = {"base": base.items_fingerprint, "language": base.language, "max_variants": config.max_variants,
              "operators_per_variant": config.operators_per_variant, "seed": seed, "max_slots": MAX_SLOTS}
    if config.account_move_rate:  # worlds made before accounts moved keep their recipe
        wanted["account_move_rate"] = config.account_move_rate
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:16]


def build_world(base: Snapshot, config: OnlineConfig, directory: str | os.PathLike | None = None,
                seed: int = 0) -> OnlineWorld:
    """The world of ``base`` under ``config`` (lineage drawn with ``seed``). Without adaptation it is the base
    snapshot itself (nothing to index again). With it, the dormant versions are written after the base items
    to a snapshot at ``directory`` (reused when it holds this recipe's world; its indexes are built by the
    search system as for any snapshot)."""
    if not isinstance(config, OnlineConfig):
        raise QxError(f"build_world needs an OnlineConfig, got {type(config).__name__}")
    members = campaign_members(base)
    campaign_of: list[str | None] = [None] * len(base)
    for campaign, positions in members.items():
        for p in positions.tolist():
            campaign_of[p] = campaign
    if not config.adapt:
        return OnlineWorld(base, base, config, Lineage({}, {}), campaign_of, [()] * len(base))
    if "risk_phrases" not in base.items.column_names:
        raise QxError("sellers who adapt reword their listings' risk phrases, and this snapshot's items have no "
                      "risk_phrases column (synthetic snapshots have one): run with adapt=False")
    if directory is None:
        raise QxError("a world with adapting sellers is a snapshot of its own: give the directory to write it to")
    texts, phrases = base.texts, base.items.column("risk_phrases").to_pylist()
    slots: list[tuple[str, ...]] = [()] * len(base)
    for p, campaign in enumerate(campaign_of):
        if campaign is not None:
            slots[p] = tuple(dict.fromkeys(x for x in (phrases[p] or ()) if x and x in texts[p]))[:MAX_SLOTS]
    lineage = Lineage.make(((campaign_of[p], s) for p in range(len(base)) for s in slots[p]), base.language,
                           config.max_variants, seed, config.operators_per_variant)
    accounts = Accounts.make({campaign: [texts[p] for p in positions.tolist()] for campaign, positions in members.items()},
                             MAX_SLOTS * config.max_variants, config.account_move_rate, seed)
    versions: dict[int, dict[tuple[int, ...], int]] = {}
    origins, new_texts, new_phrases, new_ids, new_sellers = [], [], [], [], []
    ids, sellers = base.ids, base.items.column("seller_id").to_pylist()
    world = OnlineWorld(base, base, config, lineage, campaign_of, slots, accounts=accounts)
    for p in range(len(base)):
        if not slots[p]:
            continue
        versions[p] = {}
        for generations in itertools.product(range(config.max_variants + 1), repeat=len(slots[p])):
            if not any(generations):
                continue
            versions[p][generations] = len(base) + len(origins)
            origins.append(p)
            new_texts.append(Rewrite(texts[p], world.replacements(p, generations)).text)
            new_phrases.append(list(world.wording(p, generations)))
            new_ids.append(f"{ids[p]}~v{'.'.join(map(str, generations))}")
            new_sellers.append(accounts.seller(sellers[p], world.account(p, generations)))
    world.versions = versions
    world.snapshot = _world_snapshot(base, origins, new_ids, new_texts, new_phrases, new_sellers, Path(directory),
                                     _recipe(base, config, seed))
    return world


def _world_snapshot(base: Snapshot, origins: list[int], ids: list[str], texts: list[str], phrases: list[list[str]],
                    sellers: list[str | None], directory: Path, recipe: str) -> Snapshot:
    """The base items then the dormant versions, saved at ``directory`` (reused when it holds ``recipe``)."""
    if (directory / "meta.json").is_file():
        try:
            existing = Snapshot.load(directory)
        except QxError:
            existing = None
        if existing is not None and existing.meta.generator.get("recipe") == recipe:
            return existing
    items = base.items
    dormant = items.take(pa.array(origins, pa.int64()))
    for name, values, kind in (("id", ids, pa.string()), ("text", texts, pa.string()),
                               ("risk_phrases", phrases, pa.list_(pa.string())), ("seller_id", sellers, pa.string())):
        dormant = dormant.set_column(dormant.schema.get_field_index(name), name, pa.array(values, kind))
    base_ids = base.ids
    items = items.append_column(ORIGIN_COLUMN, pa.nulls(len(items), pa.string()))
    dormant = dormant.append_column(ORIGIN_COLUMN, pa.array([str(base_ids[p]) for p in origins], pa.string()))
    meta = SnapshotMeta(language=base.language, name=f"{base.meta.name}-online", seed=base.meta.seed,
                        generator={"name": "qx_env.online", "recipe": recipe, "base": base.fingerprint,
                                   "dormant_versions": len(origins)},
                        split=dict(base.meta.split))
    world = Snapshot.from_tables(pa.concat_tables([items, dormant]).combine_chunks(), base.reports, meta)
    return Snapshot.load(world.save(directory, overwrite=True))
