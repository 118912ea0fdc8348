"""Shared fixtures: small real snapshots made by the tests themselves."""

from __future__ import annotations

import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one pytest worker per core (make test): a worker's own BLAS / OpenMP threads would fight the others' for the
    # same cores; set before numpy, faiss or torch load them (training runs on one torch thread anyway)
    for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")

import pytest

from qx_env.corpus import SynthConfig, synthesize

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def encodings_cache(tmp_path_factory):
    """Pretrained encodings go to a store of this test session (indexes/_encodings.py), not the user's cache:
    a test never reads encodings an earlier run left."""
    import os

    root = tmp_path_factory.mktemp("encodings-cache")
    previous = os.environ.get("QX_ENCODINGS_CACHE")
    os.environ["QX_ENCODINGS_CACHE"] = str(root)
    yield root
    if previous is None:
        os.environ.pop("QX_ENCODINGS_CACHE", None)
    else:
        os.environ["QX_ENCODINGS_CACHE"] = previous


@pytest.fixture(scope="session")
def keyword_snapshot(tmp_path_factory):
    """1,500 synthetic zh items at 6% toxic (seed 5), keyword index built: the small world of the integration,
    server-bench and endpoint-policy tests."""
    from indexes import build_indexes
    from qx_env import Snapshot

    config = SynthConfig(language="zh", items=1500, toxic_share=0.06, seed=5)
    snapshot = Snapshot.load(synthesize(config, progress=False).save(tmp_path_factory.mktemp("keyword-world") / "zh"))
    build_indexes(snapshot, modes=("keyword",), progress=False)
    return snapshot


@pytest.fixture(scope="session")
def synth_config() -> SynthConfig:
    return SynthConfig(language="zh", items=3000, toxic_share=0.05, hard_negative_share=0.08, seed=7)


@pytest.fixture(scope="session")
def synth_snapshot(synth_config):
    return synthesize(synth_config, progress=False)


@pytest.fixture(scope="session")
def saved_snapshot(synth_snapshot, tmp_path_factory) -> Path:
    return synth_snapshot.save(tmp_path_factory.mktemp("snap") / "zh")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"real corpora not found at {DATA_DIR} (shared/data beside the checkout)")
    return DATA_DIR


def make_snapshot(texts, labels=None, clusters=None, sellers=None, language="zh", splits=None, path=None,
                  reported=None):
    """A snapshot of hand-written items; the ``reported`` positions (default: every toxic item) are reported."""
    import pyarrow as pa

    from qx_env.snapshot import Snapshot, SnapshotMeta

    n = len(texts)
    labels = labels if labels is not None else [0] * n
    ids = [f"t{i:04d}" for i in range(n)]
    items = pa.table({
        "id": ids, "text": list(texts), "label": pa.array(labels, pa.int8()),
        "category": ["misc"] * n,
        "cluster_id": pa.array(clusters if clusters is not None else [None] * n, pa.string()),
        "seller_id": pa.array(sellers if sellers is not None else [None] * n, pa.string()),
        "created_step": pa.array([0] * n, pa.int32()),
    })
    toxic = reported if reported is not None else [i for i in range(n) if labels[i] == 1]
    reports = pa.table({
        "report_id": [f"r{i}" for i in range(len(toxic))],
        "item_id": [ids[i] for i in toxic],
        "annotations": pa.array([[] for _ in toxic], pa.list_(pa.string())),
        "split": splits if splits is not None else ["test"] * len(toxic),
        "cluster_id": pa.array([clusters[i] if clusters else None for i in toxic], pa.string()),
    })
    meta = SnapshotMeta(language=language, name="handmade", seed=0, generator={"name": "tests"})
    snapshot = Snapshot.from_tables(items, reports, meta)
    return Snapshot.load(snapshot.save(path)) if path is not None else snapshot


@pytest.fixture(scope="session")
def indexed_snapshot(tmp_path_factory):
    """A small synthetic zh snapshot, saved, with all three indexes built."""
    from indexes import build_indexes
    from qx_env import Snapshot

    config = SynthConfig(language="zh", items=2000, toxic_share=0.06, hard_negative_share=0.08, seed=11)
    path = synthesize(config, progress=False).save(tmp_path_factory.mktemp("indexed") / "zh")
    snapshot = Snapshot.load(path)
    build_indexes(snapshot, progress=False)
    return snapshot


@pytest.fixture(scope="session")
def snapshot_factory():
    """``make_snapshot`` as a fixture (test modules cannot import conftest)."""
    return make_snapshot


@pytest.fixture(scope="session")
def tiny_model(indexed_snapshot, tmp_path_factory):
    """A very small Qwen2-architecture model and tokenizer trained on the indexed snapshot."""
    from policies import TinyModelConfig, build_tiny_model

    config = TinyModelConfig(vocab_size=700, hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate_size=64)
    return build_tiny_model(indexed_snapshot, tmp_path_factory.mktemp("tiny") / "model", config)


@pytest.fixture
def local_ray():
    """A local Ray cluster of two CPUs on loopback, shared by the tests of this process: started when none is
    connected (a test that shut it down leaves the next one to start another) and left to Ray's exit hook.
    Starting one took about 27 s here (the cluster, then its workers' imports), once per module before."""
    pytest.importorskip("ray")
    from qx_env.distributed import start_ray

    return start_ray(cpus=2)
