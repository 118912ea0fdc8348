"""What the benchmark scripts share: the snapshot they run on, argument parsing from a dataclass,
and the self-describing header of a result file."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
from dataclasses import asdict
from pathlib import Path


def ensure_snapshot(items: int, seed: int, path: str = ""):
    """The synthetic zh benchmark snapshot (made once) with all indexes built."""
    from indexes import MODES, build_indexes
    from qx_env import Snapshot
    from qx_env.corpus import SynthConfig, synthesize

    root = Path(path or f"snapshots/bench-zh-{items}")
    if not (root / "meta.json").is_file():
        synthesize(SynthConfig(items=items, seed=seed)).save(root, overwrite=True)
    snapshot = Snapshot.load(root)
    missing = [m for m in MODES if not (root / "indexes" / m / "index.json").is_file()]
    if missing:
        build_indexes(snapshot, modes=missing)
    return snapshot


def parse_args(cls, description: str, argv=None):
    """An instance of the dataclass ``cls`` from ``--field value`` flags."""
    from qx_env.cli._flags import add_dataclass_flags, dataclass_from_flags

    parser = argparse.ArgumentParser(description=description)
    add_dataclass_flags(parser, cls)
    return dataclass_from_flags(cls, parser.parse_args(argv))


def describe_run(args) -> dict:
    """Machine, versions, config and git commit, stored beside every benchmark's figures."""
    from importlib.metadata import version

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = None
    return {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "versions": {p: version(p) for p in ("qx-env", "pyserini", "faiss-cpu", "networkx", "numpy", "gymnasium")},
        "git_commit": commit,
        "config": asdict(args),
    }
