"""Mining on a local Ray cluster: bound to loopback, same log as one process, clear errors."""

from __future__ import annotations

import pytest

from qx_env import QxError
from training import mine_feedback, mine_feedback_ray, read_feedback, start_ray

ray = pytest.importorskip("ray")


def test_ray_shards_equal_one_process_and_bind_to_loopback(indexed_snapshot, local_ray, tmp_path):
    options = {"split": ("train",), "k": 50, "chunk": 10}
    single = read_feedback(mine_feedback(indexed_snapshot, ["tfidf"], tmp_path / "single", progress=False, **options))
    sharded = read_feedback(mine_feedback_ray(indexed_snapshot, ["tfidf"], tmp_path / "ray", shards=2, **options))
    assert single.num_rows > 0 and sharded.equals(single)
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    # Ray's SIGSEGV handler stays off in this driver: it would take the signal from the JVM (a crash
    # found when keyword searches followed a Ray run in one process, once the JVM had compiled its code)
    from ray._private import ray_constants

    assert ray_constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER is True
    again = mine_feedback_ray(indexed_snapshot, ["tfidf"], tmp_path / "ray", shards=2, **options)  # resumes: nothing to do
    assert read_feedback(again).equals(single)


def test_ray_needs_a_saved_snapshot_and_shards(snapshot_factory, indexed_snapshot, tmp_path):
    with pytest.raises(QxError, match="saved snapshot"):
        mine_feedback_ray(snapshot_factory(["甲", "乙"], [0, 1]), ["tfidf"], tmp_path / "a", shards=2)
    with pytest.raises(QxError, match="shards must be at least 1"):
        mine_feedback_ray(indexed_snapshot, ["tfidf"], tmp_path / "b", shards=0)


def test_unreachable_ray_address_is_named(indexed_snapshot, tmp_path):
    if ray.is_initialized():
        ray.shutdown()
    with pytest.raises(QxError, match="cannot reach a Ray cluster at 127.0.0.1:9"):
        mine_feedback_ray(indexed_snapshot, ["tfidf"], tmp_path / "c", shards=2, address="127.0.0.1:9")
    assert not (tmp_path / "c").exists()  # nothing half-written
    with pytest.raises(QxError, match="should be host:port"):
        start_ray("nowhere")
