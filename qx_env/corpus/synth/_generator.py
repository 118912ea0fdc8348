"""The synthetic second-hand marketplace: normal listings, hard negatives and toxic campaigns.

The platform of the QExplorer paper (Xianyu) in miniature: listings in many categories, a few in a
thousand of them toxic, most grouped in campaigns that share risk phrases, rotating seller accounts
and contact handles, disguise the phrases and handles and re-post variants over time, the rest
singletons; normal listings that share broad words with toxic ones, carry the surface noise of real
benign text (:mod:`~qx_env.corpus.synth._noise`) and its everyday words at their measured rates
(:mod:`~qx_env.corpus.synth._everyday`) and, for shops, their own recurring contact; and user reports of
toxic items with auditor annotations.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa
from tqdm.auto import tqdm

from qx_env import __version__
from qx_env.corpus._reports import reports_table, sample_report_positions
from qx_env.corpus.synth._annotations import annotate
from qx_env.corpus.synth._camouflage import camouflage
from qx_env.corpus.synth._everyday import EverydaySampler
from qx_env.corpus.synth._noise import NoiseSampler, benign_rates, noise_rates
from qx_env.corpus.synth._tags import TagSampler
from qx_env.corpus.synth._vocabulary import LANGUAGES, Category, Violation, Vocabulary, load_vocabulary
from qx_env.snapshot import DEFAULT_FRACTIONS, SPLIT_RULES, Snapshot, SnapshotMeta, SplitRule

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
#: Operators a seller's retyping of an ordinary sentence uses: a typo of the input method (a
#: homophone, zh) or of the keyboard (en). The visible disguise operators (emoji, symbols, pinyin,
#: spacing, traditional, components) go on what a keyword filter catches, the risk phrases and
#: contacts; put on ordinary sentences they made every word of a toxic listing a label mark.
RETYPE_OPERATORS = {"zh": ("homophone",), "en": ("misspell",)}
#: Share of toxic listings that offer a contact: chineseharm_bench violations with a contact cue
#: (加V, 薇信, +Q, 扣扣, 私聊, digit runs...; _noise_rates.CONTACT_CUE), 1,214 of 8,515 = 14.3%
#: (vocab/noise.json contact_disguise).
TOXIC_CONTACT_SHARE = noise_rates()["contact_disguise"]["chineseharm_bench violations"]["offer_rate"]
#: Share of those contacts written so the graph index's handle pattern reads them: 449 of 1,214 =
#: 37.0% in the same texts; the rest are spaced, split by symbols, in Chinese numerals or emoji.
TOXIC_PLAIN_CONTACT_SHARE = noise_rates()["contact_disguise"]["chineseharm_bench violations"]["plain_share"]
#: Share of a shop's listings that repeat its contact. A modelling choice (no real per-seller data):
#: a shop pastes its contact into about every other listing.
SHOP_CONTACT_REPEAT = 0.5
#: Mean listings an operator's account posts before the platform bans it and the campaign moves to
#: a new one. A modelling choice: campaigns rotate accounts, each posting a handful of copies.
POSTS_PER_ACCOUNT = 6.0
#: Chance that a listing is posted from an older, still-live account of its campaign rather than
#: the newest one.
OLD_ACCOUNT_SHARE = 0.2
_CN_DIGITS = "零一二三四五六七八九"
_CN_DIGITS_FORMAL = "零壹贰叁肆伍陆柒捌玖"
#: Punctuation a sentence may end with; the joiner supplies its own.
_TRAILING = ".!?,;:。！？，；： "


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of a synthetic marketplace; stored in ``meta.json`` so a snapshot can be remade."""

    language: str = "zh"
    items: int = 20_000
    #: Share of toxic listings, 0.3%: inside the published prevalence band. eBay removed about 3.2M
    #: counterfeit/prohibited listings proactively in 2023 of about 1.8B live listings (eBay
    #: transparency report 2023), ~0.2%, a lower bound on what is posted (not everything is found);
    #: YouTube's violative view rate was 0.16-0.18% (Q4 2020); Meta ~0.04-0.05% of views for adult
    #: nudity (2022).
    toxic_share: float = 0.003
    hard_negative_share: float = 0.15
    #: Share of toxic items reported. A modelling choice, not a measured rate: at 0.3% a 60k-item
    #: snapshot has about 180 toxic items, and 0.6 of them gives ~108 report episodes, enough to
    #: train and evaluate on; on a real platform users report a smaller share of listings, but the
    #: reported items of a day (the paper's input) are the point of the environment.
    report_share: float = 0.6
    #: Campaigns (families of listings sharing disguised wording, sellers and handles): sizes follow
    #: a truncated power law on [min, max] with this mean (heavy-tailed: most campaigns small, a few
    #: of a hundred or more). The 10-200 band is that of the issue (families of roughly 10-200
    #: listings); the mean 30 is a modelling choice inside it.
    mean_campaign_size: float = 30.0
    min_campaign_size: int = 10
    max_campaign_size: int = 200
    #: Share of toxic listings in no campaign (a cluster of one): fbs_sms IL__*/FR__* texts without a
    #: near-duplicate (no other at character 2-3-gram TF-IDF cosine >= 0.5), 1,377 of 5,646 = 24.4%
    #: (vocab/noise.json singletons; chineseharm_bench, a de-duplicated sample, has 81%).
    singleton_share: float = 0.24
    steps: int = 100
    seed: int = 0
    #: Mean number of seller tags (``#露营``) per listing, words of a Zipf-distributed long tail.
    tags_per_listing: float = 2.0
    #: Multiplier of the base surface-noise rates measured on real benign text (vocab/noise.json):
    #: 1 reproduces them, 0 turns the noise off.
    noise_scale: float = 1.0
    #: Multiplier of the everyday words' added rates (vocab/everyday.json: jieba document rates of
    #: real benign and toxic text): 1 reproduces the measured rates, 0 leaves the listings as the
    #: templates write them (the listings made before everyday words, byte for byte).
    everyday_scale: float = 1.0
    split_fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    #: How reports are split (``qx_env.snapshot.SPLIT_RULES``): by campaign, or by time (the latest
    #: reports, by their item's created step, in test).
    split_by: str = "campaign"

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"--lang must be one of {LANGUAGES}, got {self.language!r}")
        if self.split_by not in SPLIT_RULES:
            raise ValueError(f"--split-by must be one of {', '.join(SPLIT_RULES)}, got {self.split_by!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"--seed must be a whole number of at least 0, got {self.seed!r}")
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
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if not 2 <= self.min_campaign_size <= self.mean_campaign_size <= self.max_campaign_size:
            raise ValueError("campaign sizes must satisfy 2 <= min <= mean <= max, got "
                             f"{self.min_campaign_size}, {self.mean_campaign_size}, {self.max_campaign_size}")
        if not 0 <= self.singleton_share <= 1:
            raise ValueError(f"singleton share must be in [0, 1], got {self.singleton_share}")
        if self.noise_scale < 0:
            raise ValueError(f"noise scale must be at least 0, got {self.noise_scale}")
        if not self.everyday_scale >= 0:
            raise ValueError(f"everyday scale must be at least 0, got {self.everyday_scale}")
        if self.toxic_share == 0:
            raise ValueError("toxic_share 0 gives a snapshot without toxic items, hence without reports to "
                             "explore from: pass a positive --toxic-share (default 0.003)")

    @property
    def toxic_count(self) -> int:
        """Toxic listings: the share of the items, at least one (a snapshot needs a report)."""
        return max(1, round(self.items * self.toxic_share))

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
    sellers: list[str]  # its accounts, in the order it opens them (older ones get banned)
    handles: list[tuple[str, str]]  # (kind, handle): the contacts it offers, written differently per post
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


def _size_weights(low: int, high: int, mean: float) -> tuple[list[int], list[float]]:
    """Campaign sizes ``low..high`` and cumulative weights of a truncated power law
    P(s) ~ s^-alpha whose mean is ``mean`` (alpha by bisection; alpha > 0 is heavy-tailed: many
    small campaigns, a few large)."""
    sizes = np.arange(low, high + 1, dtype=np.float64)

    def mean_of(alpha: float) -> float:
        weights = sizes ** -alpha
        return float((sizes * weights).sum() / weights.sum())

    lo, hi = -5.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mean_of(mid) > mean else (lo, mid)
    weights = sizes ** -((lo + hi) / 2)
    return [int(x) for x in sizes], np.cumsum(weights / weights.sum()).tolist()


def mean_target_length(language: str) -> float:
    """Mean listing length target (the clipped log-normal of :data:`LENGTH_MEDIAN`), by quadrature."""
    low, high = LENGTH_BOUNDS[language]
    z = np.linspace(-8, 8, 4001)
    weights = np.exp(-z * z / 2)
    lengths = np.clip(np.exp(math.log(LENGTH_MEDIAN[language]) + LENGTH_SIGMA * z), low, high)
    return float((np.floor(lengths) * weights).sum() / weights.sum())


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
        streams = np.random.SeedSequence(config.seed).generate_state(10)
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
        self.noise = NoiseSampler(config.language, int(streams[7]), config.noise_scale)
        self.shop_rng = random.Random(int(streams[8]))
        self.everyday = EverydaySampler(config.language, int(streams[9]), config.everyday_scale)
        self._mean_length = mean_target_length(config.language)
        self._shop_contacts: dict[int, str] = {}
        self._n_shops = self._shops()
        self._size_weights = _size_weights(config.min_campaign_size, config.max_campaign_size,
                                           config.mean_campaign_size)

    def _shops(self) -> int:
        """Number of sellers (the highest-volume ones) that put a shop contact in their listings.

        The share of normal listings with a contact is that of real benign text with a handle or
        URL (vocab/noise.json, ``contact``: zh 6.8%, mostly fbs_sms AD messages, commercial senders;
        en 0.4%). Shops repeat their contact in :data:`SHOP_CONTACT_REPEAT` of their listings, so
        the biggest sellers carrying a contact cover ``rate / SHOP_CONTACT_REPEAT`` of the listings."""
        rate = benign_rates(self.config.language)["contact"]["rate"] * min(1.0, self.config.noise_scale)
        cover = min(1.0, rate / SHOP_CONTACT_REPEAT)
        if cover <= 0:
            return 0
        return int(np.searchsorted(np.cumsum(self._seller_weights), cover)) + 1

    def _shop_contact(self, seller: int) -> str | None:
        """The contact a shop (seller of rank below :meth:`_shops`) pastes into this listing, if any."""
        if seller >= self._n_shops or self.shop_rng.random() >= SHOP_CONTACT_REPEAT:
            return None
        if seller not in self._shop_contacts:
            url = benign_rates(self.config.language)["url"]["rate"]
            handle = benign_rates(self.config.language)["handle"]["rate"]
            self._shop_contacts[seller] = self._contact(self.shop_rng, url_share=url / max(url + handle, 1e-9))
        return self._shop_contacts[seller]

    # ---- small pieces -------------------------------------------------------------------
    def _target_length(self) -> int:
        low, high = LENGTH_BOUNDS[self.config.language]
        value = self.rng.lognormvariate(math.log(LENGTH_MEDIAN[self.config.language]), LENGTH_SIGMA)
        return int(min(high, max(low, value)))

    def _price(self, low: int, high: int) -> str:
        value = math.exp(self.rng.uniform(math.log(max(low, 1)), math.log(max(high, low + 1))))
        value = int(round(value, -1)) if value > 50 else int(value)
        return self.rng.choice(self.vocab.price_formats).format(price=max(1, value))

    def _handle(self, kind: str, rng: random.Random | None = None) -> str:
        rng = rng or self.rng
        if kind == "qq":
            return str(rng.randint(10**5, 10**10))
        if kind == "phone":
            return f"1{rng.choice('3456789')}{rng.randint(0, 10**9 - 1):09d}"
        letters = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(rng.randint(2, 6)))
        if kind == "url":
            return f"{letters}{rng.randint(1, 99)}.{rng.choice(('cc', 'vip', 'top', 'xyz', 'com'))}/{letters[:2]}"
        return f"{letters}{rng.randint(100, 10**8)}"

    def _kind(self, rng: random.Random, url_share: float = 1 / 11) -> str:
        """A contact kind: a URL with ``url_share``, else WeChat, QQ or phone (5:3:2)."""
        if rng.random() < url_share:
            return "url"
        return rng.choices(("wechat", "qq", "phone"), weights=(5, 3, 2))[0]

    def _contact(self, rng: random.Random | None = None, url_share: float = 1 / 11) -> str:
        rng = rng or self.rng
        kind = self._kind(rng, url_share)
        return rng.choice(self.vocab.contact_formats[kind]).format(handle=self._handle(kind, rng))

    def _disguise_handle(self, kind: str, handle: str) -> str:
        """The handle written so the graph index's pattern (six or more digits in a row, or a URL)
        does not read it: digits spaced, in Chinese numerals, or in groups of 2-4 split by a symbol
        or an emoji; a URL's dots written as 点 / dot."""
        from qx_env.corpus.synth._camouflage import EMOJI

        rng, zh = self.rng, self.config.language == "zh"
        if kind == "url":
            return handle.replace(".", rng.choice((" 点 ", "。", "(点)")) if zh else rng.choice((" dot ", "(dot)", " . ")))
        head = handle.rstrip("0123456789")
        digits = handle[len(head):]
        style = rng.choice(("spaced", "numerals", "groups", "emoji") if zh else ("spaced", "groups"))
        if style == "spaced":
            body = " ".join(digits)
        elif style == "numerals":
            table = rng.choice((_CN_DIGITS, _CN_DIGITS_FORMAL))
            body = "".join(table[int(d)] for d in digits)
        else:
            groups, k = [], 0
            while k < len(digits):
                step = rng.randint(2, 4)
                groups.append(digits[k:k + step])
                k += step
            joiner = rng.choice(EMOJI) if style == "emoji" else rng.choice(("-", "*", " ", "丶" if zh else "."))
            body = joiner.join(groups)
        return head + (" " if head and rng.random() < 0.5 else "") + body

    def _toxic_contact(self, campaign: Campaign) -> str:
        """One of the campaign's contacts in a cue word of this post, plain (the graph index reads
        it) with :data:`TOXIC_PLAIN_CONTACT_SHARE`, else disguised."""
        kind, handle = self.rng.choice(campaign.handles)
        if self.rng.random() >= TOXIC_PLAIN_CONTACT_SHARE:
            handle = self._disguise_handle(kind, handle)
        return self.rng.choice(self.vocab.contact_formats[kind]).format(handle=handle)

    def _join(self, pieces: list[str], protect: tuple[str, ...] = ()) -> str:
        """Join ``pieces`` (stripped in place) with one separator, after adding the base noise to
        the pieces that contain none of ``protect`` (risk phrases, contacts)."""
        protected = [any(x and x in p for x in protect) for p in pieces] if protect else [False] * len(pieces)
        pieces[:] = [p.rstrip(_TRAILING) for p in pieces]
        if self.config.language == "zh":
            sep = self.rng.choice(("，", "，", "。", " ", "！"))
            end = self.rng.choice(("", "", "。", "~", "！"))
        else:
            sep = self.rng.choice((". ", ". ", ", ", " - ", "! "))
            end = self.rng.choice(("", ".", "!", "!!"))
        seps = [sep] * (len(pieces) - 1) + [end]
        self.noise.apply(pieces, seps, protected)
        return "".join(p + s for p, s in zip(pieces, seps))

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
    def normal(self, seller: int = 0) -> Listing:
        """An ordinary listing of seller rank ``seller`` (a shop's listings may carry its contact)."""
        rng = self.rng
        category = rng.choices(self.vocab.categories, weights=self._category_weights)[0]
        pieces = [self._title(category)]
        if rng.random() < 0.7:
            pieces.append(rng.choice(self.vocab.conditions))
        target = self._target_length()
        self.everyday.insert(pieces, "benign", target / self._mean_length)
        self._fill(pieces, category.details, target - 20)
        pieces.append(self._price(*category.price))
        words = min(len(self._shared_words), int(rng.expovariate(1 / SHARED_WORDS_PER_LISTING)))
        if words:
            # Each word its own piece, joined like the others: a run of space-joined words occurred
            # in normal listings only, a label mark (spaces between Han characters).
            for word in rng.sample(self._shared_words, words):
                pieces.insert(rng.randrange(1, len(pieces) + 1), word)
        self._tail(pieces)
        contact = self._shop_contact(seller)
        if contact:
            pieces.insert(self.shop_rng.randrange(1, len(pieces) + 1), contact)
        self.tags.add(pieces)
        return Listing(self._join(pieces, (contact,) if contact else ()), 0, category.id, None,
                       f"s{seller:07d}", rng.randrange(self.config.steps), contact=contact)

    def hard_negative(self, seller: int = 0) -> Listing:
        """A normal listing that shares broad words with a violation type."""
        rng = self.rng
        violation = rng.choice(self.vocab.violations)
        category = self.vocab.category(violation.hard_negative_category)
        pieces = rng.sample(violation.hard_negatives, k=min(2, len(violation.hard_negatives), rng.randint(1, 2)))
        if rng.random() < 0.5:
            pieces.append(rng.choice(self.vocab.conditions))
        target = self._target_length()
        self.everyday.insert(pieces, "benign", target / self._mean_length)
        self._fill(pieces, category.details, target - 20)
        pieces.append(self._price(*category.price))
        self._tail(pieces)
        contact = self._shop_contact(seller)
        if contact:
            pieces.insert(self.shop_rng.randrange(1, len(pieces) + 1), contact)
        self.tags.add(pieces)
        return Listing(
            self._join(pieces, (contact,) if contact else ()), 0, category.id, None, f"s{seller:07d}",
            rng.randrange(self.config.steps), violation=None, hard_negative=True, contact=contact,
        )

    def campaign_sizes(self, toxic_count: int) -> list[int]:
        """Sizes of the toxic clusters: campaigns of truncated power-law sizes (see :func:`_size_weights`)
        covering all but ``singleton_share`` of the toxic listings, then the singletons (size 1)."""
        rng, config = self.rng, self.config
        singletons = round(toxic_count * config.singleton_share)
        in_campaigns = toxic_count - singletons
        if 0 < in_campaigns < config.min_campaign_size:  # too few for one campaign of the minimum size
            return [in_campaigns] + [1] * singletons
        choices, cumulative = self._size_weights
        sizes: list[int] = []
        while sum(sizes) < in_campaigns:
            sizes.append(rng.choices(choices, cum_weights=cumulative)[0])
        if sizes:
            sizes[-1] -= sum(sizes) - in_campaigns
            if sizes[-1] < config.min_campaign_size and len(sizes) > 1:
                remainder = sizes.pop()
                sizes[-1] += remainder  # the remainder joins the previous campaign
        return sizes + [1] * singletons

    def campaigns(self, toxic_count: int) -> list[Campaign]:
        """Toxic clusters of :meth:`campaign_sizes`: their phrases, accounts and handles."""
        rng, config = self.rng, self.config
        sizes = self.campaign_sizes(toxic_count)
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
            # Accounts get banned, so a campaign rotates through new ones as it re-posts.
            accounts = max(1, round(size / POSTS_PER_ACCOUNT * rng.uniform(0.5, 1.5)))
            sellers = [f"s{number:05d}x{k}" for k in range(accounts)]
            if previous and rng.random() < 0.2:  # an operator running several campaigns
                sellers.insert(rng.randrange(len(sellers) + 1), rng.choice(rng.choice(previous).sellers))
            campaigns.append(Campaign(
                id=f"c{number:05d}", violation=violation, level=level, forms=forms,
                contexts=tuple(self._reword(c, level) for c in
                               rng.sample(violation.contexts, k=min(len(violation.contexts), rng.randint(4, 8)))),
                sellers=sellers, handles=[(kind, self._handle(kind)) for kind in
                                          (self._kind(rng) for _ in range(rng.randint(1, 2)))],
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
            variant, _ = camouflage(chunk, language, rng, operators=RETYPE_OPERATORS[language])
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
        target = self._target_length()
        self.everyday.insert(pieces, "toxic", target / self._mean_length)
        self._fill(pieces, [c for c in campaign.contexts if c not in contexts], target - 25)
        rng.shuffle(pieces)
        price = max(1, int(campaign.price * rng.uniform(0.8, 1.2)))
        pieces.append(self._price(price, price))
        contact = self._toxic_contact(campaign) if rng.random() < TOXIC_CONTACT_SHARE else None
        if contact:
            pieces.insert(rng.randrange(len(pieces) + 1), contact)
        self._tail(pieces, shipping=0.3, place=0.4, closing=0.6)
        self.tags.add(pieces)
        # The newest account posts; now and then an older one that is still live.
        newest = min(len(campaign.sellers) - 1, int(age * len(campaign.sellers)))
        seller = campaign.sellers[rng.randint(0, newest) if rng.random() < OLD_ACCOUNT_SHARE else newest]
        where = [pieces.index(c) for c in contexts]
        text = self._join(pieces, (*used_forms, contact or ""))
        return Listing(
            text, 1, category.id, campaign.id, seller, step,
            violation=campaign.violation.id,
            camouflage="+".join(sorted(set(used_ops))) or None,
            risk_phrases=used_forms, contact=contact, contexts=[pieces[i] for i in where],
        )

    def campaign_listings(self, campaign: Campaign) -> list[Listing]:
        """Listings of one campaign, re-posted over time from its start step."""
        step, listings = campaign.start, []
        for index in range(campaign.size):
            listings.append(self.toxic(campaign, min(step, self.config.steps - 1), age=index / campaign.size))
            step += int(self.rng.expovariate(1 / max(0.5, self.config.steps / (4 * campaign.size))))
        return listings


def iter_listings(gen: MarketplaceGenerator, progress: bool = False) -> Iterator[Listing]:
    """All listings of ``gen``'s config in generation order, before the shuffle: campaigns, hard
    negatives, normal."""
    config = gen.config
    n_toxic, n_hard = config.toxic_count, config.hard_negative_count
    n_normal = config.items - n_toxic - n_hard
    with tqdm(total=config.items, desc="synth items", unit="item", disable=not progress) as bar:
        for campaign in gen.campaigns(n_toxic):
            yield from gen.campaign_listings(campaign)
            bar.update(campaign.size)
        sellers = gen.np_rng.choice(gen.n_normal_sellers, size=n_normal + n_hard, p=gen._seller_weights).tolist()
        for k in range(n_hard):
            yield gen.hard_negative(sellers[k])
        bar.update(n_hard)
        for k in range(n_normal):
            yield gen.normal(sellers[n_hard + k])
            if (k + 1) % 5000 == 0:
                bar.update(5000)
        bar.update(n_normal % 5000)


def generate_listings(gen: MarketplaceGenerator, progress: bool = False) -> list[Listing]:
    """:func:`iter_listings` as a list (small configs; :func:`synthesize` streams)."""
    return list(iter_listings(gen, progress))


#: Listings turned into Arrow columns at once: :func:`synthesize` holds this many as Python objects
#: (plus the toxic ones, which the reports need), not the whole corpus (about 1.6 KB a listing:
#: 16 GiB at 10M items).
LISTING_CHUNK = 100_000


def _listing_columns(listings: list[Listing]) -> pa.Table:
    """The item columns (all but ``id``) of ``listings``, in order."""
    return pa.table({
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


def synthesize(config: SynthConfig, progress: bool = True) -> Snapshot:
    """Generate a synthetic marketplace snapshot; the same config gives the same tables."""
    gen = MarketplaceGenerator(config)
    chunks, pending, toxic = [], [], {}  # toxic: generation index -> listing (the reports need them)
    for index, listing in enumerate(iter_listings(gen, progress)):
        pending.append(listing)
        if listing.label:
            toxic[index] = listing
        if len(pending) == LISTING_CHUNK:
            chunks.append(_listing_columns(pending))
            pending = []
    chunks.append(_listing_columns(pending))
    generated = pa.concat_tables(chunks)
    del chunks, pending
    order = np.random.default_rng(gen.order_seed).permutation(generated.num_rows)
    ids = [f"i{i:07d}" for i in range(generated.num_rows)]
    items = generated.take(pa.array(order)).combine_chunks()
    del generated
    items = items.add_column(0, "id", pa.array(ids, pa.string()))

    labels = items.column("label").to_numpy().astype(np.int8)
    positions = sample_report_positions(labels, config.report_share, gen.report_seed,
                                        fix="raise --toxic-share or --items")
    reported = [toxic[int(order[p])] for p in positions]  # reports are of toxic listings
    notes = [annotate(listing, gen.vocab, gen.annotation_rng) for listing in reported]
    reports = reports_table(
        [ids[p] for p in positions],
        [listing.cluster_id for listing in reported],
        gen.split_seed,
        annotations=[n.phrases for n in notes],
        fractions=config.split_fractions,
        split_by=config.split_by,
        created=[listing.created_step for listing in reported],
        annotation_kinds=pa.array([n.kinds for n in notes], pa.list_(pa.string())),
    )
    meta = SnapshotMeta(
        language=config.language,
        name=f"synth-{config.language}-{config.items}-seed{config.seed}",
        seed=config.seed,
        generator={"name": "qx_env.corpus.synth", "version": __version__, "params": asdict(config)},
        versions=_library_versions(),
        split=SplitRule(config.split_by, gen.split_seed, config.split_fractions).as_dict(),
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
