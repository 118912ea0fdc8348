"""Base surface noise, shop and campaign contacts, account rotation, campaign sizes and prevalence
of the synthetic marketplace: each reproduces its configured (measured) rate."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import pytest

from qx_env.corpus import SynthConfig
from qx_env.corpus.synth._generator import MarketplaceGenerator, generate_listings
from qx_env.corpus.synth._noise import FEATURES, NoiseSampler, benign_rates
from qx_env.corpus.synth._noise_rates import DETECTORS

#: Pieces without any measured mark (every character has a traditional form, for that feature).
CLEAN = ["这个东西很好用", "价格便宜", "欢迎来买"]


def _tolerance(rate: float, n: int) -> float:
    """Four binomial standard deviations plus 0.5 points (features overlap a little: ~~ is also a symbol)."""
    return 4 * math.sqrt(rate * (1 - rate) / n) + 0.005


@pytest.mark.parametrize("language", ["zh", "en"])
def test_sampler_reproduces_the_measured_rates_on_clean_text(language):
    sampler, n = NoiseSampler(language, seed=1), 20_000
    present, counts = Counter(), defaultdict(list)
    for _ in range(n):
        pieces, seps = list(CLEAN), ["，", "，", ""]
        sampler.apply(pieces, seps, [False, False, False])
        text = "".join(p + s for p, s in zip(pieces, seps))
        for feature in FEATURES[language]:
            found = DETECTORS[feature](text, False)
            present[feature] += bool(found)
            if found:
                counts[feature].append(len(found))
    measured = benign_rates(language)
    for feature in FEATURES[language]:
        rate = measured[feature]["rate"]
        assert abs(present[feature] / n - rate) < _tolerance(rate, n), feature
    # occurrences per noisy text follow the measured mean (repeated marks merge, so a little fewer)
    for feature in ("emoji", "repeated_punct") if language == "zh" else ("repeated_punct",):
        if counts[feature]:
            mean = sum(counts[feature]) / len(counts[feature])
            assert 0.75 * measured[feature]["per_text"] <= mean <= 1.1 * measured[feature]["per_text"], feature


def test_sampler_leaves_protected_pieces_alone_and_scale_zero_adds_nothing():
    sampler = NoiseSampler("zh", seed=2, scale=30)
    for _ in range(500):
        pieces, seps = ["毕业证复刻", *CLEAN], ["，"] * 3 + [""]
        sampler.apply(pieces, seps, [True, False, False, False])
        assert pieces[0] == "毕业证复刻"
    quiet = NoiseSampler("zh", seed=2, scale=0)
    pieces, seps = list(CLEAN), ["，", "，", ""]
    assert quiet.apply(pieces, seps, [False] * 3) == [] and pieces == CLEAN


@pytest.fixture(scope="module")
def listings():
    gen = MarketplaceGenerator(SynthConfig(items=8000, toxic_share=0.1, hard_negative_share=0.1, seed=11))
    return gen, generate_listings(gen)


def _outside_disguise(listing) -> str:
    """The text with the campaign's disguise removed: its risk phrases and contact."""
    text = listing.text
    for part in sorted([*listing.risk_phrases, listing.contact or ""], key=len, reverse=True):
        if part:
            text = text.replace(part, " ")
    return text


def _share(texts: list[str], feature: str) -> float:
    return sum(bool(DETECTORS[feature](t, False)) for t in texts) / len(texts)


def test_normal_listings_carry_the_measured_noise(listings):
    _, rows = listings
    normal = [x.text for x in rows if x.label == 0]
    measured = benign_rates("zh")
    # features the templates never write: the measured rate itself
    for feature in ("emoji", "traditional", "repeated_punct"):
        rate = measured[feature]["rate"]
        assert abs(_share(normal, feature) - rate) < _tolerance(rate, len(normal)), feature
    # features the templates already write (brand names, the '~' ending, the ' ' joiner): at least it
    for feature in ("symbol", "latin", "cjk_space"):
        assert _share(normal, feature) >= measured[feature]["rate"] - _tolerance(measured[feature]["rate"], len(normal))


@pytest.fixture(scope="module")
def many_toxic():
    gen = MarketplaceGenerator(SynthConfig(items=8000, toxic_share=0.4, hard_negative_share=0.1, seed=11))
    return gen, generate_listings(gen)


def test_toxic_and_normal_alike_outside_the_campaign_disguise(many_toxic):
    """Outside its risk phrases and contact a toxic listing carries no more marks than a normal one
    (within 6 points); the base-noise marks come at the same rate. 3,200 toxic listings: they come in
    campaigns, so the spread is wider than binomial (with 800, the Han-space gap ranged 1.7-6.2
    points over seeds 11-12 and everyday words on or off; with 3,200, 0.3-2.2)."""
    _, rows = many_toxic
    normal = [_outside_disguise(x) for x in rows if x.label == 0]
    toxic = [_outside_disguise(x) for x in rows if x.label == 1]
    for feature in ("emoji", "symbol", "traditional", "cjk_space", "repeated_punct", "pinyin_like"):
        assert abs(_share(toxic, feature) - _share(normal, feature)) < 0.06, feature
    assert _share(toxic, "latin") <= _share(normal, "latin") + 0.06  # brand names make normal ones richer
    assert _share(toxic, "handle") <= _share(normal, "handle") + 0.02


def test_disguised_handles_escape_the_graph_pattern_plain_ones_do_not(listings):
    from indexes import contact_handles

    gen, _ = listings
    for kind in ("wechat", "qq", "phone", "url"):
        for _ in range(200):
            handle = gen._handle(kind)
            assert contact_handles(handle), (kind, handle)
            assert not contact_handles(gen._disguise_handle(kind, handle)), (kind, handle)


def test_shops_repeat_their_contacts_so_a_shared_handle_is_no_label(listings):
    from indexes import contact_handles

    _, rows = listings
    normal = [x for x in rows if x.label == 0]
    with_contact = sum(bool(x.contact) for x in normal) / len(normal)
    rate = benign_rates("zh")["contact"]["rate"]
    assert abs(with_contact - rate) < 0.02  # the measured share of benign texts with a contact
    by_handle: dict[str, list] = defaultdict(list)
    for x in rows:
        for handle in contact_handles(x.text):
            by_handle[handle].append(x)
    shared = {handle: group for handle, group in by_handle.items() if len(group) >= 2}
    # (a model number such as MaxMara 101801 also links listings of many sellers, as on a real platform)
    normal_groups = [g for h, g in shared.items() if all(x.label == 0 and h in (x.contact or "").lower() for x in g)]
    assert len(normal_groups) >= 3  # the biggest sellers share a handle across their listings...
    assert all(len({x.seller_id for x in g}) == 1 for g in normal_groups)  # ...each its own
    toxic_groups = [g for g in shared.values() if any(x.label == 1 for x in g)]
    # most listings sharing a handle with another are ordinary shops' (at 10% toxic, far above the default)
    assert sum(map(len, normal_groups)) > sum(map(len, toxic_groups))


def test_campaigns_rotate_accounts_and_write_handles_differently(listings):
    _, rows = listings
    campaigns: dict[str, list] = defaultdict(list)
    for x in rows:
        if x.label == 1:
            campaigns[x.cluster_id].append(x)
    big = [c for c in campaigns.values() if len(c) >= 30]
    assert big
    for rows_ in big:
        assert 2 <= len({x.seller_id for x in rows_}) < len(rows_)
    contacts = [x.contact for c in big for x in c if x.contact]
    assert len(set(contacts)) < len(contacts)  # some copies share a handle string...
    assert len(set(contacts)) > len(contacts) / 3  # ...most do not


def test_campaign_sizes_heavy_tailed_in_the_band_with_singletons():
    config = SynthConfig(items=2_000_000, toxic_share=0.01, seed=4)
    sizes = MarketplaceGenerator(config).campaign_sizes(config.toxic_count)
    campaigns = [s for s in sizes if s > 1]
    singletons = sizes.count(1)
    assert sum(sizes) == config.toxic_count
    assert abs(singletons / config.toxic_count - config.singleton_share) < 0.005
    assert min(campaigns) >= config.min_campaign_size
    assert max(campaigns) <= config.max_campaign_size + config.min_campaign_size
    mean = sum(campaigns) / len(campaigns)
    assert abs(mean - config.mean_campaign_size) < 0.1 * config.mean_campaign_size
    assert sorted(campaigns)[len(campaigns) // 2] < mean  # heavy right tail: median below mean
    assert max(campaigns) >= 150


def test_prevalence_default_in_the_published_band_and_zero_refused():
    assert 0.002 <= SynthConfig().toxic_share <= 0.005
    with pytest.raises(ValueError, match="--toxic-share"):
        SynthConfig(toxic_share=0.0)
    assert SynthConfig(items=100).toxic_count == 1  # a positive share gives at least one report
    for share in (0.0005, 0.05):
        assert SynthConfig(items=100_000, toxic_share=share).toxic_count == round(100_000 * share)
