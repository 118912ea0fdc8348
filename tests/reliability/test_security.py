"""Writes stay inside the output directory given, user files are never unpickled, and a model's own
code never runs unless asked for (``trust_remote_code`` is off by default)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexes import KeywordIndex
from qx_env import IndexDataError, QxError, Snapshot
from qx_env.cli import main
from qx_env.files import file_sha256, inside
from training import TrainArgs, train_sft

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for folder in ("qx_env", "indexes", "policies", "training", "benchmarks") for p in (ROOT / folder).rglob("*.py")]


def _listing(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_a_path_that_leads_out_of_the_output_directory_is_refused(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    assert inside(out, "final", "model.safetensors") == (out / "final" / "model.safetensors").resolve()
    with pytest.raises(QxError, match="leads outside"):
        inside(out, "..", "outside")
    (out / "final").symlink_to(outside)
    with pytest.raises(QxError, match="leads outside"):
        inside(out, "final")


def test_training_refuses_a_foreign_output_directory_and_a_link_out_of_it(tiny_model, sft_data, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.tex").write_text("keep me")
    args = {"base": str(tiny_model), "data": str(sft_data), "lora": False, "max_steps": 1, "batch_size": 2,
            "max_length": 512}
    with pytest.raises(QxError, match="is not empty and is not a training run; choose another --out"):
        train_sft(TrainArgs(out=str(notes), **args))
    assert _listing(notes) == {"thesis.tex": b"keep me"}
    run, outside = tmp_path / "run", tmp_path / "outside"
    run.mkdir()
    outside.mkdir()
    (run / "final").symlink_to(outside)  # a planted link: the final model would land outside the run
    with pytest.raises(QxError, match="leads outside"):
        train_sft(TrainArgs(out=str(run), **args))
    assert not any(outside.iterdir())


def test_an_index_is_never_built_through_a_link_out_of_the_snapshot(indexed_snapshot, tmp_path):
    copy, outside = tmp_path / "copy", tmp_path / "outside"
    shutil.copytree(indexed_snapshot.path, copy, ignore=shutil.ignore_patterns("indexes"))
    outside.mkdir()
    (copy / "indexes").symlink_to(outside)
    with pytest.raises(QxError, match="leads outside"):
        KeywordIndex.build(Snapshot.load(copy), progress=False)
    assert not any(outside.iterdir())


def test_snapshot_and_model_outputs_refuse_a_foreign_directory(indexed_snapshot, tmp_path, capsys):
    from policies import make_policy

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.tex").write_text("keep me")
    assert main(["corpus", "synth", "--items", "50", "--out", str(notes), "--overwrite"]) == 2
    assert "is not empty and is not a snapshot" in capsys.readouterr().err
    with pytest.raises(QxError, match="is not empty and is not a seqlabel model"):
        make_policy(f"seqlabel:path={notes},epochs=1", indexed_snapshot)
    assert _listing(notes) == {"thesis.tex": b"keep me"}


def test_the_source_never_unpickles_or_trusts_remote_code():
    forbidden = {
        r"\bimport pickle\b|\bfrom pickle\b|\bdill\b|joblib\.load|read_pickle": "pickle loading",
        r"allow_pickle\s*=\s*True": "np.load with allow_pickle=True",
        r"\bnp\.load\((?![^)]*allow_pickle=False)": "np.load without allow_pickle=False",
        r"\btorch\.load\((?![^)]*weights_only=True)": "torch.load without weights_only=True",
        r"trust_remote_code\s*=\s*True": "trust_remote_code=True",
    }
    found = [f"{path.relative_to(ROOT)}:{number}: {what}" for path in SOURCES
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             for pattern, what in forbidden.items() if re.search(pattern, line)]
    assert not found, found


class _Payload:
    """Unpickling this touches a marker file: the proof that a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_planted_in_an_index_is_refused_not_run(indexed_snapshot, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(indexed_snapshot.path, copy)
    index_dir, marker = copy / "indexes" / "keyword", tmp_path / "pickle-ran"
    np.save(index_dir / "positions.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    meta = json.loads((index_dir / "index.json").read_text())  # the checksum forged too, so only the loader guards
    meta["files"]["positions.npy"] = file_sha256(index_dir / "positions.npy")
    (index_dir / "index.json").write_text(json.dumps(meta))
    with pytest.raises(IndexDataError, match="cannot be read.*allow_pickle=False.*rebuild it"):
        KeywordIndex.open(Snapshot.load(copy))
    assert not marker.exists()


def test_model_code_is_not_run_unless_trusted(indexed_snapshot, tiny_model, tmp_path):
    from policies import load_causal_lm, make_policy

    model, marker = tmp_path / "model", tmp_path / "remote-code-ran"
    shutil.copytree(tiny_model, model)
    (model / "custom.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n"
                                     "from transformers import Qwen2Config as CustomConfig\n")
    config = json.loads((model / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "custom.CustomConfig", "AutoModelForCausalLM": "custom.CustomModel"}
    (model / "config.json").write_text(json.dumps(config))
    load_causal_lm(model)  # a known architecture: transformers' own code loads it, the model's is ignored
    config["model_type"] = "qx_unknown"  # only the model's code could load this one: refused
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(QxError, match="(?s)cannot load a causal language model.*trust_remote_code"):
        load_causal_lm(model)
    with pytest.raises(QxError, match="trust_remote_code"):
        make_policy(f"llm:path={model}", indexed_snapshot)
    assert not marker.exists()
