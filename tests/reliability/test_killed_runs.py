"""Runs killed with SIGKILL at random points resume to the result of an uninterrupted run:
mining ends with the same feedback log, training with a final model and run card."""

from __future__ import annotations

import json
import random
import signal
import time

from training import read_feedback
from training._train import CHECKSUMS_FILE

KILLED = -signal.SIGKILL


def _parts(log) -> list[str]:
    return sorted(p.name for p in log.glob("part-*.parquet"))


def test_mining_killed_at_random_points_resumes_to_the_same_log(indexed_snapshot, reference_log, mining, run_qx,
                                                                tmp_path):
    out = tmp_path / "log"
    command = ["mine", "feedback", str(indexed_snapshot.path), "--policies", ",".join(mining["policies"]),
               "--split", ",".join(mining["split"]), "--chunk", str(mining["chunk"]), "--out", str(out)]
    total = len(_parts(reference_log))
    assert total >= 10
    rng = random.Random(8)
    started, delay = time.monotonic(), rng.uniform(0.2, 1.5)  # a kill while it starts up
    run_qx(command, until=lambda: time.monotonic() - started > delay)
    for high in (total // 3, total - 3):  # two kills part-way through writing parts
        done = len(_parts(out))
        target = rng.randint(done + 1, max(done + 1, high))
        assert run_qx(command, until=lambda target=target: len(_parts(out)) >= target) == KILLED
    assert len(_parts(out)) < total
    assert run_qx(command) == 0
    assert _parts(out) == _parts(reference_log)
    assert read_feedback(out).equals(read_feedback(reference_log))
    assert json.loads((out / "plan.json").read_text()) == json.loads((reference_log / "plan.json").read_text())
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_training_killed_after_its_first_checkpoint_resumes_to_the_end(tiny_model, sft_data, run_qx, tmp_path):
    out = tmp_path / "run"
    command = ["train", "sft", "--base", str(tiny_model), "--data", str(sft_data), "--out", str(out), "--no-lora",
               "--max-steps", "20", "--save-steps", "5", "--batch-size", "2", "--max-length", "512",
               "--learning-rate", "1e-3"]
    assert run_qx(command, until=lambda: (out / "checkpoint-5" / CHECKSUMS_FILE).is_file()) == KILLED
    assert not (out / "final").exists() and not (out / "run_card.json").exists()
    assert run_qx(command) == 0
    card = json.loads((out / "run_card.json").read_text())
    resumed = int(card["resumed_from"].rpartition("-")[2])
    assert 5 <= resumed < 20 and card["kind"] == "sft"
    assert json.loads((out / "checkpoint-20" / "trainer_state.json").read_text())["global_step"] == 20
    assert (out / "final" / "config.json").is_file() and (out / "final" / "model.safetensors").is_file()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
