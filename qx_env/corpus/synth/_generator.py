"""The synthetic second-hand marketplace: normal listings, hard negatives and toxic campaigns.

The platform of the QExplorer paper (Xianyu) in miniature: listings in many categories, a few
percent of them toxic, grouped in campaigns that share risk phrases, sellers and contact handles,
disguise the phrases with camouflage operators and re-post variants over time; normal listings
that share broad words with toxic ones; and user reports of toxic items with auditor annotations.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa
from tqdm.auto import tqdm

from qx_env import __version__
from qx_env.corpus._reports import reports_table, sample_report_positions
from qx_env.corpus.synth._annotations import annotate
from qx_env.corpus.synth._camouflage import camouflage
from qx_env.corpus.synth._tags import TagSampler
from qx_env.corpus.synth._vocabulary import LANGUAGES, Category, Violation, Vocabulary, load_vocabulary
from qx_env.snapshot import DEFAULT_FRACTIONS, Snapshot, SnapshotMeta

#: Listing length (characters): log-normal median and spread, per language. The zh median sits a
#: little above real marketplace reviews (online_shopping_10_cats: median 34, p95 183 characters).
LENGTH_MEDIAN = {"zh": 45, "en": 110}
LENGTH_SIGMA = 0.7
LENGTH_BOUNDS = {"zh": (10, 400), "en": (25, 900)}
#: Share of a campaign's risk phrases written in its own spelling rather than the stock one.
OWN_WORDING = 0.5
#: Mean number of everyday words (see :func:`shared_words`) a normal listing carries.
SHARED_WORDS_PER_LISTING = 2.0
#: Share of a toxic listing's stock sentences that the seller retypes with a variant or typo.
RETYPE_SHARE = 0.5
#: Punctuation a sentence may end with; the joiner supplies its own.
_TRAILING = ".!?,;:。！？，；： "


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of a synthetic marketplace; stored in ``meta.json`` so a snapshot can be remade."""

    language: str = "zh"
    items: int = 20_000
    toxic_share: float = 0.03
    hard_negative_share: float = 0.15
    report_share: float = 0.2
    mean_campaign_size: float = 12.0
    steps: int = 100
    seed: int = 0
    #: Mean number of seller tags (``#露营``) per listing, words of a Zipf-distributed long tail.
    tags_per_listing: float = 2.0
    split_fractions: tuple[float, float, float] = DEFAULT_FRACTIONS

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"--lang must be one of {LANGUAGES}, got {self.language!r}")
        if self.items < 10:
            raise ValueError(f"--items must be at least 10, got {self.items}")
        for name in ("toxic_share", "hard_negative_share"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.toxic_share + self.hard_negative_share >= 1:
            raise ValueError("toxic share plus hard-negative share must stay below 1")
        if not 0 < self.report_share <= 1:
            raise ValueError(f"report share must be in (0, 1], got {self.report_share}")
        if self.tags_per_listing < 0:
            raise ValueError(f"tags per listing must be at least 0, got {self.tags_per_listing}")
        if self.mean_campaign_size < 1 or self.steps < 1:
            raise ValueError("mean campaign size and steps must be at least 1")

    @property
    def toxic_count(self) -> int:
        return round(self.items * self.toxic_share)

    @property
    def hard_negative_count(self) -> int:
        return round(self.items * self.hard_negative_share)


@dataclass
class Campaign:
    """A group of toxic listings run by one operator: shared phrases, sellers, handles."""

    id: str
    violation: Violation
    level: float  # camouflage level in [0, 1]: how often a disguised form is used
    forms: dict[str, list[tuple[str, list[str]]]]  # core phrase -> its variants and their operators
    contexts: tuple[str, ...]
    sellers: list[str]
    contacts: list[str]
    price: int
    start: int
    size: int
    dress: float = 0.0  # how often a listing is dressed as an ordinary one of its cover category


@dataclass
class Listing:
    """One generated item before the global shuffle."""

    text: str
    label: int
    category: str
    cluster_id: str | None
    seller_id: str
    created_step: int
    violation: str | None = None
    hard_negative: bool = False
    camouflage: str | None = None
    risk_phrases: list[str] = field(default_factory=list)
    contact: str | None = None
    contexts: list[str] = field(default_factory=list)


def shared_words(vocab: Vocabulary) -> list[str]:
    """Words of the violations' stock sentences that are not part of a risk phrase. On a real
    platform such words (更新, 家长, 磨损...) are everyday vocabulary, far more often in normal
    listings than in toxic ones; normal listings here carry them too, so a query made of one
    common word exposes mostly normal items."""
    risky = [p.lower() for v in vocab.violations for p in v.core_phrases]
    words: set[str] = set()
    for violation in vocab.violations:
        for sentence in violation.contexts:
            words.update(_words(sentence, vocab.language))
    return sorted(w for w in words if not any(w in p for p in risky))


def _words(text: str, language: str) -> list[str]:
    if language == "zh":
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        return [w for w in jieba.lcut(text) if len(w) >= 2 and all("\u4e00" <= c <= "\u9fff" for c in w)]
    return [w.lower() for w in text.split() if len(w) >= 4 and w.isalpha()]


class MarketplaceGenerator:
    """Composes listings from a :class:`Vocabulary` with seeded random streams."""

    def __init__(self, config: SynthConfig) -> None:
        self.config = config
        self.vocab: Vocabulary = load_vocabulary(config.language)
        streams = np.random.SeedSequence(config.seed).generate_state(7)
        self.rng = random.Random(int(streams[0]))
        self.np_rng = np.random.default_rng(int(streams[1]))
        self.report_seed = int(streams[2])
        self.order_seed = int(streams[3])
        self.split_seed = int(streams[4])
        self.annotation_rng = random.Random(int(streams[5]))
        self.n_normal_sellers = max(1, (config.items - config.toxic_count) // 8)
        self._seller_weights = 1.0 / np.arange(1, self.n_normal_sellers + 1) ** 0.8
        self._seller_weights /= self._seller_weights.sum()
        self._category_weights = [c.weight for c in self.vocab.categories]
        self._shared_words = shared_words(self.vocab)
        self.tags = TagSampler(self.vocab, int(streams[6]), config.tags_per_listing)

    # ---- small pieces -------------------------------------------------------------------
    def _target_length(self) -> int:
        low, high = LENGTH_BOUNDS[self.config.language]
        value = self.rng.lognormvariate(math.log(LENGTH_MEDIAN[self.config.language]), LENGTH_SIGMA)
        return int(min(high, max(low, value)))

    def _price(self, low: int, high: int) -> str:
        value = math.exp(self.rng.uniform(math.log(max(low, 1)), math.log(max(high, low + 1))))
        value = int(round(value, -1)) if value > 50 else int(value)
        return self.rng.choice(self.vocab.price_formats).format(price=max(1, value))

    def _handle(self, kind: str) -> str:
        rng = self.rng
        if kind == "qq":
            return str(rng.randint(10**5, 10**10))
        if kind == "phone":
            return f"1{rng.choice('3456789')}{rng.randint(0, 10**9 - 1):09d}"
        letters = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(rng.randint(2, 6)))
        if kind == "url":
            return f"{letters}{rng.randint(1, 99)}.{rng.choice(('cc', 'vip', 'top', 'xyz', 'com'))}/{letters[:2]}"
        return f"{letters}{rng.randint(100, 10**8)}"

    def _contact(self) -> str:
        kind = self.rng.choices(("wechat", "qq", "phone", "url"), weights=(5, 3, 2, 1))[0]
        return self.rng.choice(self.vocab.contact_formats[kind]).format(handle=self._handle(kind))

    def _join(self, pieces: list[str]) -> str:
        pieces = [p.rstrip(_TRAILING) for p in pieces]
        if self.config.language == "zh":
            sep = self.rng.choice(("，", "，", "。", " ", "！"))
            return sep.join(pieces) + self.rng.choice(("", "", "。", "~", "！"))
        sep = self.rng.choice((". ", ". ", ", ", " - ", "! "))
        return sep.join(pieces) + self.rng.choice(("", ".", "!", "!!"))

    def _fill(self, pieces: list[str], pool: tuple[str, ...] | list[str], target: int) -> None:
        """Append distinct sentences from ``pool`` until the listing reaches ``target`` characters."""
        available = list(pool)
        self.rng.shuffle(available)
        length = sum(len(p) + 1 for p in pieces)
        while available and length < target:
            piece = available.pop()
            pieces.append(piece)
            length += len(piece) + 1

    def _tail(self, pieces: list[str], shipping: float = 0.5, place: float = 0.5, closing: float = 0.5) -> None:
        rng, vocab = self.rng, self.vocab
        if rng.random() < place:
            pieces.append(rng.choice(vocab.places))
        if rng.random() < shipping:
            pieces.append(rng.choice(vocab.shipping))
        if rng.random() < closing:
            pieces.append(rng.choice(vocab.closings))

    def _title(self, category: Category) -> str:
        rng = self.rng
        parts = [rng.choice(category.brands), rng.choice(category.products)]
        if category.models and rng.random() < 0.6:
            parts.append(rng.choice(category.models))
        return ("" if self.config.language == "zh" else " ").join(parts)

    # ---- listings -----------------------------------------------------------------------
    def normal(self) -> Listing:
        rng = self.rng
        category = rng.choices(self.vocab.categories, weights=self._category_weights)[0]
        pieces = [self._title(category)]
        if rng.random() < 0.7:
            pieces.append(rng.choice(self.vocab.conditions))
        self._fill(pieces, category.details, self._target_length() - 20)
        pieces.append(self._price(*category.price))
        if rng.random() < 0.03:
            pieces.append(self._contact())
        words = min(len(self._shared_words), int(rng.expovariate(1 / SHARED_WORDS_PER_LISTING)))
        if words:
            pieces.insert(rng.randrange(1, len(pieces) + 1), " ".join(rng.sample(self._shared_words, words)))
        self._tail(pieces)
        self.tags.add(pieces)
        return Listing(self._join(pieces), 0, category.id, None, "", rng.randrange(self.config.steps))

    def hard_negative(self) -> Listing:
        """A normal listing that shares broad words with a violation type."""
        rng = self.rng
        violation = rng.choice(self.vocab.violations)
        category = self.vocab.category(violation.hard_negative_category)
        pieces = rng.sample(violation.hard_negatives, k=min(2, len(violation.hard_negatives), rng.randint(1, 2)))
        if rng.random() < 0.5:
            pieces.append(rng.choice(self.vocab.conditions))
        self._fill(pieces, category.details, self._target_length() - 20)
        pieces.append(self._price(*category.price))
        self._tail(pieces)
        self.tags.add(pieces)
        return Listing(
            self._join(pieces), 0, category.id, None, "", rng.randrange(self.config.steps),
            violation=None, hard_negative=True,
        )

    def campaigns(self, toxic_count: int) -> list[Campaign]:
        """Split ``toxic_count`` toxic listings into campaigns of heavy-tailed sizes."""
        rng, config = self.rng, self.config
        sizes: list[int] = []
        mu = math.log(config.mean_campaign_size) - 0.5
        while sum(sizes) < toxic_count:
            sizes.append(max(2, int(rng.lognormvariate(mu, 1.0))))
        if sizes:
            sizes[-1] -= sum(sizes) - toxic_count
            if sizes[-1] < 1:
                sizes.pop()
                sizes[-1] += toxic_count - sum(sizes)
        campaigns: list[Campaign] = []
        for number, size in enumerate(sizes):
            violation = rng.choice(self.vocab.violations)
            level = rng.betavariate(2, 2)
            cores = rng.sample(violation.core_phrases, k=rng.randint(2, 3))
            forms = {}
            for core in cores:
                # Many operators have their own wording of a risk phrase, so campaigns of one
                # violation type share the stock phrase only some of the time.
                base = camouflage(core, config.language, rng)[0] if rng.random() < OWN_WORDING else core
                n_variants = 1 + round(level * 5)
                forms[base] = [
                    camouflage(base, config.language, rng, n_operators=1 + int(rng.random() < level))
                    for _ in range(n_variants)
                ]
            previous = [c for c in campaigns if c.violation.id == violation.id]
            sellers = [f"s{number:05d}x{k}" for k in range(1 + int(rng.expovariate(0.7)))]
            if previous and rng.random() < 0.2:  # an operator running several campaigns
                sellers.append(rng.choice(rng.choice(previous).sellers))
            campaigns.append(Campaign(
                id=f"c{number:05d}", violation=violation, level=level, forms=forms,
                contexts=tuple(self._reword(c, level) for c in
                               rng.sample(violation.contexts, k=min(len(violation.contexts), rng.randint(4, 8)))),
                sellers=sellers, contacts=[self._contact() for _ in range(rng.randint(1, 2))],
                price=rng.randint(20, 3000), start=rng.randrange(max(1, int(config.steps * 0.8))), size=size,
                dress=rng.uniform(0.3, 0.9),
            ))
        return campaigns

    def _reword(self, sentence: str, level: float) -> str:
        """A campaign's own wording of a stock sentence: a few of its words disguised with the
        camouflage operators, so campaigns of one violation type do not share every word."""
        rng, language = self.rng, self.config.language
        for _ in range(1 + int(rng.random() < level)):
            if language == "zh":
                if len(sentence) < 4:
                    break
                start = rng.randrange(0, len(sentence) - 2)
                chunk = sentence[start:start + rng.randint(2, 3)]
            else:
                words = [w for w in sentence.split() if len(w) > 3]
                if not words:
                    break
                chunk = rng.choice(words)
            variant, _ = camouflage(chunk, language, rng)
            sentence = sentence.replace(chunk, variant, 1)
        return sentence

    def toxic(self, campaign: Campaign, step: int, age: float = 0.0) -> Listing:
        """A listing of ``campaign``; ``age`` in [0, 1] is how far the campaign has run. Sellers
        disguise more as they re-post (their plain listings get removed), so older posts use
        camouflaged forms more often."""
        rng = self.rng
        used_forms, used_ops = [], []
        disguise = min(1.0, campaign.level * (0.5 + age))
        for core in rng.sample(list(campaign.forms), k=rng.randint(1, min(2, len(campaign.forms)))):
            if rng.random() < disguise:
                form, ops = rng.choice(campaign.forms[core])
            else:
                form, ops = core, []
            used_forms.append(form)
            used_ops.extend(ops)
        category = self.vocab.category(rng.choice(campaign.violation.cover_categories))
        title = used_forms[0]
        if rng.random() < 0.4:
            title += ("" if self.config.language == "zh" else " ") + rng.choice(category.products)
        contexts = rng.sample(campaign.contexts, k=rng.randint(1, min(2, len(campaign.contexts))))
        # Each post retypes some of its sentences (typos, variants): rare words of one listing are
        # often its own, as on a real platform.
        contexts = [self._reword(c, campaign.level) if rng.random() < RETYPE_SHARE else c for c in contexts]
        pieces = [title, *contexts, *used_forms[1:]]
        # Dressed as an ordinary listing of the cover category: a normal title and normal details,
        # so most of a toxic listing's words are shared with normal listings.
        if rng.random() < campaign.dress:
            pieces.append(self._title(category))
            pieces += rng.sample(category.details, k=min(len(category.details), rng.randint(1, 3)))
        self._fill(pieces, [c for c in campaign.contexts if c not in contexts], self._target_length() - 25)
        rng.shuffle(pieces)
        price = max(1, int(campaign.price * rng.uniform(0.8, 1.2)))
        pieces.append(self._price(price, price))
        contact = rng.choice(campaign.contacts) if rng.random() < 0.6 else None
        if contact:
            pieces.insert(rng.randrange(len(pieces) + 1), contact)
        self._tail(pieces, shipping=0.3, place=0.4, closing=0.6)
        self.tags.add(pieces)
        return Listing(
            self._join(pieces), 1, category.id, campaign.id, rng.choice(campaign.sellers), step,
            violation=campaign.violation.id,
            camouflage="+".join(sorted(set(used_ops))) or None,
            risk_phrases=used_forms, contact=contact, contexts=contexts,
        )

    def campaign_listings(self, campaign: Campaign) -> list[Listing]:
        """Listings of one campaign, re-posted over time from its start step."""
        step, listings = campaign.start, []
        for index in range(campaign.size):
            listings.append(self.toxic(campaign, min(step, self.config.steps - 1), age=index / campaign.size))
            step += int(self.rng.expovariate(1 / max(0.5, self.config.steps / (4 * campaign.size))))
        return listings


def synthesize(config: SynthConfig, progress: bool = True) -> Snapshot:
    """Generate a synthetic marketplace snapshot; the same config gives the same tables."""
    gen = MarketplaceGenerator(config)
    n_toxic, n_hard = config.toxic_count, config.hard_negative_count
    n_normal = config.items - n_toxic - n_hard
    listings: list[Listing] = []
    with tqdm(total=config.items, desc="synth items", unit="item", disable=not progress) as bar:
        for campaign in gen.campaigns(n_toxic):
            listings.extend(gen.campaign_listings(campaign))
            bar.update(campaign.size)
        for _ in range(n_hard):
            listings.append(gen.hard_negative())
        bar.update(n_hard)
        sellers = gen.np_rng.choice(gen.n_normal_sellers, size=n_normal + n_hard, p=gen._seller_weights)
        for k in range(n_normal):
            listings.append(gen.normal())
            if (k + 1) % 5000 == 0:
                bar.update(5000)
        bar.update(n_normal % 5000)
    for listing, seller in zip((x for x in listings if x.label == 0), sellers):
        listing.seller_id = f"s{int(seller):07d}"

    order = np.random.default_rng(gen.order_seed).permutation(len(listings))
    listings = [listings[i] for i in order]
    ids = [f"i{i:07d}" for i in range(len(listings))]
    items = pa.table({
        "id": pa.array(ids, pa.string()),
        "text": pa.array([x.text for x in listings], pa.string()),
        "label": pa.array([x.label for x in listings], pa.int8()),
        "category": pa.array([x.category for x in listings], pa.string()),
        "cluster_id": pa.array([x.cluster_id for x in listings], pa.string()),
        "seller_id": pa.array([x.seller_id for x in listings], pa.string()),
        "created_step": pa.array([x.created_step for x in listings], pa.int32()),
        "violation": pa.array([x.violation for x in listings], pa.string()),
        "hard_negative": pa.array([x.hard_negative for x in listings], pa.bool_()),
        "camouflage": pa.array([x.camouflage for x in listings], pa.string()),
        "risk_phrases": pa.array([x.risk_phrases for x in listings], pa.list_(pa.string())),
    })

    labels = np.array([x.label for x in listings], dtype=np.int8)
    positions = sample_report_positions(labels, config.report_share, gen.report_seed)
    notes = [annotate(listings[p], gen.vocab, gen.annotation_rng) for p in positions]
    reports = reports_table(
        [ids[p] for p in positions],
        [listings[p].cluster_id for p in positions],
        gen.split_seed,
        annotations=[n.phrases for n in notes],
        fractions=config.split_fractions,
        annotation_kinds=[n.kinds for n in notes],
    )
    meta = SnapshotMeta(
        language=config.language,
        name=f"synth-{config.language}-{config.items}-seed{config.seed}",
        seed=config.seed,
        generator={"name": "qx_env.corpus.synth", "version": __version__, "params": asdict(config)},
        versions=_library_versions(),
    )
    return Snapshot.from_tables(items, reports, meta)



def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("numpy", "pyarrow", "pypinyin", "opencc-python-reimplemented", "jieba"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "unknown"
    return versions
