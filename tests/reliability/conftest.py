"""Fixtures of the reliability tests: a reference feedback log and SFT data mined from it, and a
runner that kills a ``qx`` command (SIGKILL) at a chosen point."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

#: Mining settings shared by the reference log and the killed runs (one report per part: many parts).
MINING = {"policies": ["annotation", "tfidf:top=2", "ngram:top=2", "textrank:top=2"], "split": ["train", "dev", "test"],
          "chunk": 1}


@pytest.fixture(scope="session")
def mining():
    return MINING


@pytest.fixture(scope="session")
def reference_log(indexed_snapshot, tmp_path_factory):
    """A feedback log mined in one uninterrupted run."""
    from training import mine_feedback

    return mine_feedback(indexed_snapshot, MINING["policies"], tmp_path_factory.mktemp("reference") / "log",
                         split=MINING["split"], chunk=MINING["chunk"], progress=False)


@pytest.fixture(scope="session")
def sft_data(indexed_snapshot, reference_log, tmp_path_factory):
    from training import read_feedback, sft_rows, write_jsonl

    rows = sft_rows(read_feedback(reference_log), indexed_snapshot)
    return write_jsonl(rows, tmp_path_factory.mktemp("sft") / "sft.jsonl")


def _run_qx(arguments: list[str], log, until=None, timeout: float = 300) -> int:
    """Run ``qx ARGUMENTS`` in a subprocess; SIGKILL it as soon as ``until()`` holds. Returns the exit
    code (``-SIGKILL`` when killed)."""
    process = subprocess.Popen([sys.executable, "-m", "qx_env", *arguments], stdout=log, stderr=log)
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if until is not None and until():
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        return process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def run_qx(tmp_path):
    """``run_qx(arguments, until=None)``: the exit code of ``qx ARGUMENTS`` killed when ``until()`` holds;
    its output goes to ``tmp_path/qx.log``."""
    with open(tmp_path / "qx.log", "ab") as log:
        yield lambda arguments, until=None: _run_qx(arguments, log, until)
