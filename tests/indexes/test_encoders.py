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
    np.testing.assert_allclose(load_encoder(tmp_path).encode(queries), batch, atol=1e-6)


def test_similar_texts_are_close(synth_snapshot):
    texts = synth_snapshot.texts[:500]
    encoder = NgramSvdEncoder.fit(texts, dim=64)
    a, b, c = encoder.encode([texts[0], texts[0] + "，包邮", texts[1]])
    assert a @ b > a @ c
