"""What the integration tests share: one small zh snapshot with its keyword index."""

from __future__ import annotations

import pytest

from indexes import build_indexes
from qx_env import Snapshot
from qx_env.corpus import SynthConfig, synthesize


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory) -> Snapshot:
    """1,500 synthetic zh items at 6% toxic (seed 5), keyword index built."""
    config = SynthConfig(language="zh", items=1500, toxic_share=0.06, seed=5)
    snapshot = Snapshot.load(synthesize(config, progress=False).save(tmp_path_factory.mktemp("integrations") / "zh"))
    build_indexes(snapshot, modes=("keyword",), progress=False)
    return snapshot
