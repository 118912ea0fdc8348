"""The embedding mode retrieves for real short queries against real listings (the cut-off was measured
on query-to-listing pairs, benchmarks.encoders --parts query) and exposes nothing for junk."""

from __future__ import annotations

import numpy as np
import pytest

from qx_env.search import SearchSystem


@pytest.fixture(scope="module")
def real_snapshot(data_dir, tmp_path_factory, snapshot_factory):
    """About 4,000 real Chinese texts (FBS gambling and fraud SMS, shopping reviews; the spaces of FBS's
    tokenization removed), with the embedding index built by the pretrained use encoder. Whether a short
    query passes the 0.4 cut-off depends on how many listings there are to lie near it: among 500 texts
    almost none did; the cut-off was measured on 20,000."""
    from indexes import build_indexes

    texts = []
    for name in ("IL__Gambling.txt", "FR__Phishing_Bank.txt"):
        lines = (data_dir / "fbs_sms" / name).read_text(encoding="utf-8").splitlines()
        texts += ["".join(line.split()) for line in lines[:1000] if line.strip()]
    toxic = len(list(dict.fromkeys(t for t in texts if len(t) >= 8)))
    reviews = (data_dir / "online_shopping_10_cats" / "online_shopping_10_cats.csv").read_text(encoding="utf-8")
    texts += [row.split(",", 2)[2] for row in reviews.splitlines()[1::25][:2500] if row.count(",") >= 2]
    texts = list(dict.fromkeys(t for t in texts if len(t) >= 8))
    labels = [1] * toxic + [0] * (len(texts) - toxic)
    snapshot = snapshot_factory(texts, labels=labels, path=tmp_path_factory.mktemp("real") / "s")
    build_indexes(snapshot, modes=["keyword", "embedding"], progress=False, embedding={"encoder": "use"})
    return snapshot


def test_short_real_queries_expose_listings_and_their_source(real_snapshot):
    system = SearchSystem(real_snapshot, modes="embedding", build=False)
    assert system.indexes["embedding"].encoder.kind == "use"
    rng = np.random.default_rng(0)
    texts = real_snapshot.texts
    exposed, found_source = 0, 0
    for position in rng.choice(len(texts), size=40, replace=False):
        text = texts[position]
        size = int(rng.integers(3, 7))
        start = int(rng.integers(0, max(1, len(text) - size)))
        hits = system.search(text[start:start + size])
        exposed += len(hits) > 0
        found_source += int(position) in set(hits.positions.tolist())
    assert exposed >= 20, exposed  # most 3-6 character spans of a real text retrieve something
    assert found_source >= 4, found_source


def test_junk_without_content_exposes_nothing(real_snapshot):
    system = SearchSystem(real_snapshot, modes="embedding", build=False)
    assert all(len(system.search(junk)) == 0 for junk in ("!!!", "。。", "😀", "a", "7", " ", "【】"))
