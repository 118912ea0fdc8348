"""The default embedding encoder: fitted on the corpus, saved without pickle, same vector either path."""

from __future__ import annotations

import numpy as np

from indexes import NgramSvdEncoder
from indexes._encoders import load_encoder


def test_single_and_batch_paths_agree_and_round_trip(synth_snapshot, tmp_path):
    texts = synth_snapshot.texts[:500]
    encoder = NgramSvdEncoder.fit(texts, dim=32)
    queries = texts[:20] + ["红腹水虎", "Red-bellied piranha", "🐟", "a"]
    batch = encoder.encode(queries)
    single = np.concatenate([encoder.encode([q]) for q in queries])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    assert batch.shape == (len(queries), 32)
    norms = np.linalg.norm(batch[:20], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    encoder.save(tmp_path)
    assert not any(p.suffix == ".pkl" for p in tmp_path.iterdir())
    loaded = load_encoder(tmp_path)  # one query first, as a search does right after loading
    np.testing.assert_allclose(np.concatenate([loaded.encode([q]) for q in queries]), batch, atol=1e-5)
    np.testing.assert_allclose(loaded.encode(queries), batch, atol=1e-6)


def test_similar_texts_are_close(synth_snapshot):
    texts = synth_snapshot.texts[:500]
    encoder = NgramSvdEncoder.fit(texts, dim=64)
    a, b, c = encoder.encode([texts[0], texts[0] + "，包邮", texts[1]])
    assert a @ b > a @ c


def test_local_transformer_encoder_builds_an_embedding_index(tmp_path, snapshot_factory):
    """A Hugging Face encoder from a local directory (no download), e.g. a sentence-transformers model."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from indexes import EmbeddingIndex

    texts = ["红腹水虎小苗", "老虎玩偶", "水族箱过滤器", "猛鱼水虎", "毕业证书框"] * 4
    chars = sorted({c for t in texts for c in t})
    model_dir = tmp_path / "encoder"
    model_dir.mkdir()
    (model_dir / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n")
    BertTokenizerFast(vocab_file=str(model_dir / "vocab.txt")).save_pretrained(model_dir)
    config = BertConfig(vocab_size=5 + len(chars), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).save_pretrained(model_dir)
    snapshot = snapshot_factory([f"{t}{i}" for i, t in enumerate(texts)], path=tmp_path / "snap")
    index = EmbeddingIndex.build(snapshot, encoder=str(model_dir), progress=False)
    assert index.meta["params"]["encoder"] == "transformer" and index.meta["params"]["dim"] == 16
    hits = EmbeddingIndex.open(snapshot).search("红腹水虎", 5)
    assert len(hits) == 5


def test_hnsw_kind_is_chosen_on_request(indexed_snapshot, tmp_path):
    from indexes import EmbeddingIndex

    index = EmbeddingIndex.build(indexed_snapshot, directory=tmp_path / "hnsw", kind="hnsw", progress=False)
    assert index.meta["params"]["kind"] == "hnsw"
    query = indexed_snapshot.texts[0]
    assert 0 in index.search(query, 10).positions.tolist()


def test_large_fits_count_in_chunks_and_take_the_svd_from_a_seeded_sample(synth_snapshot, monkeypatch):
    """Chunked counting gives the one-shot fit; above FIT_SAMPLE texts the IDF still counts every
    text while the SVD basis comes from a seeded sample (the same one every time)."""
    from indexes import _encoders

    texts = synth_snapshot.texts
    whole = NgramSvdEncoder.fit(texts, dim=16)
    monkeypatch.setattr(_encoders, "FIT_CHUNK", 97)
    chunked = NgramSvdEncoder.fit(texts, dim=16)
    assert np.array_equal(whole.components, chunked.components) and np.array_equal(whole.idf, chunked.idf)
    monkeypatch.setattr(_encoders, "FIT_SAMPLE", len(texts) // 2)
    sampled, again = NgramSvdEncoder.fit(texts, dim=16), NgramSvdEncoder.fit(texts, dim=16)
    assert np.array_equal(sampled.idf, whole.idf) and np.array_equal(sampled.columns, whole.columns)
    assert np.array_equal(sampled.components, again.components)
    assert not np.array_equal(sampled.components, whole.components)


def test_fit_transform_encodes_the_fitted_texts_as_encode_does_counted_in_worker_processes(synth_snapshot,
                                                                                          monkeypatch):
    """The fit's own TF-IDF rows give the vectors ``encode`` gives, byte for byte, and so does the
    corpus path (counted in chunks by spawned processes) when the SVD came from a sample."""
    from indexes import _encoders

    texts = synth_snapshot.texts
    alone, vectors = NgramSvdEncoder.fit_transform(texts, dim=16)
    assert np.array_equal(alone.components, NgramSvdEncoder.fit(texts, dim=16).components)
    assert np.array_equal(vectors, alone.encode(texts))
    monkeypatch.setattr(_encoders, "FIT_CHUNK", max(1, len(texts) // 3))  # three chunks: two processes
    counted, again = NgramSvdEncoder.fit_transform(texts, dim=16)
    assert np.array_equal(counted.components, alone.components) and np.array_equal(again, vectors)
    monkeypatch.setattr(_encoders, "FIT_SAMPLE", len(texts) // 2)
    sampled, sampled_vectors = NgramSvdEncoder.fit_transform(texts, dim=16)
    assert np.array_equal(sampled_vectors, sampled.encode(texts))
    assert not np.array_equal(sampled_vectors, vectors)


def test_embedding_index_adds_a_sampled_fits_vectors_chunk_by_chunk(saved_snapshot, tmp_path, monkeypatch):
    """Above FIT_SAMPLE the vectors reach faiss chunk by chunk as they are encoded (never as one
    array), from the texts read slice by slice; the index holds exactly what ``encode`` gives."""
    from indexes import EmbeddingIndex, _encoders
    from qx_env import Snapshot

    synth_snapshot = Snapshot.load(saved_snapshot)
    monkeypatch.setattr(_encoders, "FIT_SAMPLE", 1000)
    monkeypatch.setattr(_encoders, "FIT_CHUNK", 700)
    index = EmbeddingIndex.build(synth_snapshot, directory=tmp_path / "ngram", encoder="ngram", progress=False)
    assert index.faiss_index.ntotal == len(synth_snapshot.texts) and index.meta["params"]["kind"] == "flat"
    rows = np.arange(0, len(synth_snapshot.texts), 37)
    expected = index.encoder.encode([synth_snapshot.texts[r] for r in rows])
    assert np.array_equal(index.vectors()[rows], expected)

