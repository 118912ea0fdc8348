"""Truncated or altered files are detected with an error that says how to rebuild: keyword and
embedding indexes (checksums in index.json), feedback parts (Parquet page checksums), training
checkpoints (checksums recorded once a checkpoint is saved)."""

from __future__ import annotations

import shutil

import pytest

from indexes import EmbeddingIndex, KeywordIndex
from qx_env import IndexDataError, QxError, Snapshot
from training import TrainArgs, mine_feedback, read_feedback, train_sft
from training._train import CHECKSUMS_FILE, resume_checkpoint


def _truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _flip_byte(path, at: float = 0.4) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x55
    path.write_bytes(bytes(data))


@pytest.fixture
def snapshot_copy(indexed_snapshot, tmp_path):
    shutil.copytree(indexed_snapshot.path, tmp_path / "copy")
    return Snapshot.load(tmp_path / "copy")


@pytest.mark.parametrize("damage", [_truncate, _flip_byte])
def test_damaged_keyword_index_is_refused_with_the_rebuild_command(snapshot_copy, damage):
    lucene = snapshot_copy.path / "indexes" / "keyword" / "lucene"
    damage(max((f for f in lucene.iterdir() if f.is_file()), key=lambda f: f.stat().st_size))
    with pytest.raises(IndexDataError, match="does not match its checksum.*qx index build .* --modes keyword"):
        KeywordIndex.open(snapshot_copy)


@pytest.mark.parametrize("damage", [_truncate, _flip_byte])
def test_damaged_embedding_index_is_refused_with_the_rebuild_command(snapshot_copy, damage):
    damage(snapshot_copy.path / "indexes" / "embedding" / "faiss.index")
    with pytest.raises(IndexDataError, match="faiss.index does not match its checksum.*--modes embedding"):
        EmbeddingIndex.open(snapshot_copy)


@pytest.mark.parametrize("damage", [_truncate, _flip_byte])
def test_damaged_feedback_part_is_named_and_mined_again_once_deleted(indexed_snapshot, reference_log, mining,
                                                                     tmp_path, damage):
    log = tmp_path / "log"
    shutil.copytree(reference_log, log)
    part = sorted(log.glob("part-*.parquet"))[3]
    damage(part)
    with pytest.raises(QxError, match=f"{part.name} is damaged.*delete it and run the same `qx mine feedback`"):
        read_feedback(log)
    resume = {"split": mining["split"], "chunk": mining["chunk"], "progress": False}
    with pytest.raises(QxError, match=f"{part.name} is damaged"):
        mine_feedback(indexed_snapshot, mining["policies"], log, **resume)
    part.unlink()
    mine_feedback(indexed_snapshot, mining["policies"], log, **resume)
    assert read_feedback(log).equals(read_feedback(reference_log))


@pytest.fixture(scope="module")
def checkpoints(tiny_model, sft_data, tmp_path_factory):
    """A finished two-step SFT run with a checkpoint after each step."""
    out = tmp_path_factory.mktemp("checkpoints") / "run"
    train_sft(TrainArgs(base=str(tiny_model), data=str(sft_data), out=str(out), lora=False, max_steps=2,
                        save_steps=1, batch_size=2, max_length=512))
    return out


def test_damaged_checkpoint_is_refused_and_an_unfinished_one_passed_over(checkpoints, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(checkpoints, out)
    assert resume_checkpoint(out) == out / "checkpoint-2"
    _truncate(out / "checkpoint-2" / "model.safetensors")
    with pytest.raises(QxError, match="checkpoint-2 is damaged: model.safetensors does not match its checksum.*"
                                      "Delete .*checkpoint-2 and run the same command again"):
        resume_checkpoint(out)
    (out / "checkpoint-2" / CHECKSUMS_FILE).unlink()  # as if killed while saving it
    with pytest.warns(UserWarning, match="checkpoint-2 was not saved completely"):
        assert resume_checkpoint(out) == out / "checkpoint-1"
