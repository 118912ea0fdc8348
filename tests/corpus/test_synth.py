"""The synthetic marketplace: determinism, configured shares, campaigns, camouflage, reports."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import numpy as np
import pyarrow.compute as pc
import pytest

from qx_env.corpus import SynthConfig, synthesize
from qx_env.corpus.synth import load_vocabulary
from qx_env.corpus.synth._tags import tag_lexicon


def test_same_seed_same_bytes_other_seed_other_corpus(synth_config, saved_snapshot, tmp_path):
    again = synthesize(synth_config, progress=False).save(tmp_path / "again")
    for name in ("items.parquet", "reports.parquet", "meta.json"):
        assert (again / name).read_bytes() == (saved_snapshot / name).read_bytes(), name
    other = synthesize(dataclasses.replace(synth_config, seed=8), progress=False)
    assert other.texts != synthesize(synth_config, progress=False).texts


def test_the_corpus_streamed_in_chunks_is_the_corpus_made_at_once(synth_config, synth_snapshot, monkeypatch):
    """Listings become Arrow columns a chunk at a time (10M items would not fit as Python objects);
    the chunk size changes nothing."""
    from qx_env.corpus.synth import _generator

    monkeypatch.setattr(_generator, "LISTING_CHUNK", 257)
    chunked = synthesize(synth_config, progress=False)
    assert chunked.items.equals(synth_snapshot.items) and chunked.reports.equals(synth_snapshot.reports)
    assert chunked.items.column("text").num_chunks == 1


def test_shares_are_as_configured(synth_snapshot, synth_config):
    items = synth_snapshot.items
    assert len(synth_snapshot) == synth_config.items
    assert int(synth_snapshot.labels.sum()) == synth_config.toxic_count
    hard = items.filter(items.column("hard_negative"))
    assert hard.num_rows == synth_config.hard_negative_count
    assert set(hard.column("label").to_pylist()) == {0}


def test_vocabularies_cover_the_platform():
    for language in ("zh", "en"):
        vocab = load_vocabulary(language)
        assert len(vocab.categories) >= 20
        assert len(vocab.violations) >= 12
        assert {"fake_diploma", "prohibited_animals", "escort", "gambling", "fake_invoice"} <= {
            v.id for v in vocab.violations
        }


def test_listing_lengths_look_like_a_marketplace(synth_snapshot):
    lengths = pc.utf8_length(synth_snapshot.items.column("text")).to_numpy()
    p5, p50, p95 = np.percentile(lengths, [5, 50, 95])
    assert 10 <= p5 and 25 <= p50 <= 120 and 100 <= p95 <= 450


def test_campaigns_share_sellers_phrases_and_re_post_over_time(synth_snapshot):
    toxic = synth_snapshot.items.filter(pc.equal(synth_snapshot.items.column("label"), 1)).to_pylist()
    campaigns: dict[str, list[dict]] = {}
    for row in toxic:
        campaigns.setdefault(row["cluster_id"], []).append(row)
    assert all(row["cluster_id"] for row in toxic)
    big = [rows for rows in campaigns.values() if len(rows) >= 5]
    assert big
    for rows in big:
        assert len({r["violation"] for r in rows}) == 1
        assert len({r["seller_id"] for r in rows}) < len(rows)  # sellers post several listings
        assert len({r["created_step"] for r in rows}) > 1
        phrases = [p for r in rows for p in r["risk_phrases"]]
        assert len(set(phrases)) < len(phrases)  # the campaign's phrases recur
    for row in toxic:
        assert all(p in row["text"] for p in row["risk_phrases"])


def test_camouflaged_listings_use_variants_unlike_the_core(synth_snapshot):
    vocab = load_vocabulary("zh")
    cores = {p for v in vocab.violations for p in v.core_phrases}
    rows = synth_snapshot.items.filter(pc.is_valid(synth_snapshot.items.column("camouflage"))).to_pylist()
    assert len(rows) > 10
    variants = [p for r in rows for p in r["risk_phrases"] if p not in cores]
    assert variants and all(v not in cores for v in variants)
    assert len({op for r in rows for op in r["camouflage"].split("+")}) >= 4


def test_hard_negatives_share_broad_words_with_toxic_listings(synth_snapshot):
    vocab = load_vocabulary("zh")
    broad = {t for v in vocab.violations for t in v.broad_terms}
    items = synth_snapshot.items
    hard_texts = items.filter(items.column("hard_negative")).column("text").to_pylist()
    toxic_texts = items.filter(pc.equal(items.column("label"), 1)).column("text").to_pylist()
    shared = [t for t in broad if any(t in h for h in hard_texts) and any(t in x for x in toxic_texts)]
    assert len(shared) >= 5


def test_reports_point_at_toxic_items_with_table1_annotations(synth_snapshot, synth_config):
    reports = synth_snapshot.reports.to_pylist()
    assert len(reports) == round(synth_config.report_share * int(synth_snapshot.labels.sum()))
    kinds = {k for r in reports for k in r["annotation_kinds"]}
    assert {"good", "verbose", "broad"} <= kinds
    for report in reports:
        position = synth_snapshot.position_of[report["item_id"]]
        assert synth_snapshot.labels[position] == 1
        text = synth_snapshot.texts[position]
        for phrase, kind in zip(report["annotations"], report["annotation_kinds"]):
            assert "，" not in phrase and "," not in phrase  # an answer joins queries with commas
            if kind == "good":
                assert phrase in text
            if kind == "verbose":  # a span of one or two of the listing's sentences
                assert all(part in text for part in phrase.split(" "))
        verbose = [p for p, k in zip(report["annotations"], report["annotation_kinds"]) if k == "verbose"]
        # (a risk phrase the symbol operator split with a clause break such as '~' has no sentence span)
        good = [p for p, k in zip(report["annotations"], report["annotation_kinds"])
                if k == "good" and not re.search(r"[，,。！!~？?；;]", p)]
        assert all(len(v) > min(map(len, good)) for v in verbose) if good else True


def test_english_marketplace(tmp_path):
    snapshot = synthesize(SynthConfig(language="en", items=800, toxic_share=0.05, seed=1), progress=False)
    assert snapshot.language == "en"
    assert int(snapshot.labels.sum()) == 40
    assert all(" " in t for t in snapshot.texts[:50])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("language", "fr", "--lang"), ("items", 3, "--items"), ("toxic_share", 1.5, "toxic_share"),
     ("report_share", 0, "report share"), ("tags_per_listing", -1, "tags per listing"),
     ("everyday_scale", -0.5, "everyday scale"), ("everyday_scale", float("nan"), "everyday scale")],
)
def test_bad_config_is_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        SynthConfig(**{field: value})


def test_campaigns_disguise_more_as_they_re_post():
    """Later posts of a campaign are disguised more often. 2,400 toxic listings: the gap is about 0.07
    and with 600 (in about 20 campaigns) it ranged -0.02 to 0.13 over seeds 2-7, under 0.05 on two of
    them even before everyday words; with 2,400 it was 0.067-0.088 on seeds 2-5."""
    snapshot = synthesize(SynthConfig(items=6000, toxic_share=0.4, seed=2), progress=False)
    items = snapshot.items
    toxic = items.filter(pc.equal(items.column("label"), 1)).to_pylist()
    early, late = [], []
    for cluster in {row["cluster_id"] for row in toxic}:
        rows = sorted((r for r in toxic if r["cluster_id"] == cluster), key=lambda r: (r["created_step"], r["id"]))
        half = len(rows) // 2
        early += [r["camouflage"] is not None for r in rows[:half]]
        late += [r["camouflage"] is not None for r in rows[half:]]
    assert np.mean(late) > np.mean(early) + 0.05


@pytest.mark.parametrize("language", ["zh", "en"])
def test_seller_tags_are_a_long_tail_without_label_signal(language):
    snapshot = synthesize(SynthConfig(language=language, items=6000, toxic_share=0.1, seed=3), progress=False)
    vocab = load_vocabulary(language)
    lexicon = set(tag_lexicon(language))
    per_item = [[w for w in re.findall(r"#(\w+)", t) if w in lexicon] for t in snapshot.texts]
    counts = Counter(word for tags in per_item for word in set(tags))
    assert len(counts) > 2000
    assert sum(1 for c in counts.values() if c <= 3) / len(counts) > 0.6  # most tags are rare...
    assert counts.most_common(1)[0][1] >= 20  # ...a few are common
    labels = snapshot.labels.astype(bool)
    tagged = np.array([len(tags) for tags in per_item])
    assert abs(tagged[labels].mean() - tagged[~labels].mean()) < 0.25  # toxic and normal sellers tag alike
    risky = {p.lower() for v in vocab.violations for p in (*v.core_phrases, *v.broad_terms)}
    assert not any(p in word.lower() for word in lexicon for p in risky)


def test_tags_use_their_own_random_stream(synth_config):
    plain = synthesize(dataclasses.replace(synth_config, tags_per_listing=0), progress=False)
    tagged = synthesize(synth_config, progress=False)
    assert sum("#" in t for t in tagged.texts) > 2 * sum("#" in t for t in plain.texts)
    for column in ("id", "label", "cluster_id", "seller_id", "created_step", "risk_phrases"):
        assert plain.items.column(column).equals(tagged.items.column(column)), column


def test_report_schema_keeps_list_types_when_empty_and_no_toxic_item_is_refused():
    import pyarrow as pa

    from qx_env import CorpusSourceError
    from qx_env.corpus._reports import reports_table, sample_report_positions

    empty = reports_table([], [], 0, annotation_kinds=pa.array([], pa.list_(pa.string())))
    assert empty.schema.field("annotation_kinds").type == pa.list_(pa.string())
    assert empty.schema.field("annotations").type == pa.list_(pa.string())
    with pytest.raises(CorpusSourceError, match="no toxic item, hence no report to explore from: raise --items"):
        sample_report_positions(np.zeros(50, dtype=np.int8), 0.6, 0, fix="raise --items")


def test_smallest_corpus_has_a_report_and_a_bad_seed_is_named():
    snapshot = synthesize(SynthConfig(items=10, seed=1), progress=False)
    assert snapshot.reports.num_rows >= 1
    import pyarrow as pa

    assert snapshot.reports.schema.field("annotation_kinds").type == pa.list_(pa.string())
    with pytest.raises(ValueError, match="--seed must be a whole number of at least 0, got -1"):
        SynthConfig(seed=-1)
