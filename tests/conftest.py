"""Shared fixtures: small real snapshots made by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from qx_env.corpus import SynthConfig, synthesize

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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
