"""What the integration tests share: one small zh snapshot with its keyword index."""

from __future__ import annotations

import pytest

from qx_env import Snapshot


@pytest.fixture(scope="session")
def snapshot(keyword_snapshot) -> Snapshot:
    """The shared keyword world (tests/conftest.py: 1,500 zh items at 6% toxic, seed 5)."""
    return keyword_snapshot
