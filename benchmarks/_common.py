"""What the benchmark scripts share: the snapshot they run on, argument parsing from a dataclass,
and the self-describing header of a result file."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from qx_env.files import (
    atomic_file,
    write_text_atomic,  # noqa: F401 (re-exported for the benchmark scripts)
)
from qx_env.flags import parse_dataclass


def ensure_snapshot(items: int, seed: int, path: str = "", modes: Sequence[str] = ()):
    """The synthetic zh benchmark snapshot (made once) with the indexes ``modes`` search with built
    (every index when ``modes`` is empty)."""
    from indexes import MODES, build_indexes, required_modes
    from qx_env import Snapshot
    from qx_env.corpus import SynthConfig, synthesize

    root = Path(path or f"snapshots/bench-zh-{items}")
    if not (root / "meta.json").is_file():
        synthesize(SynthConfig(items=items, seed=seed)).save(root, overwrite=True)
    snapshot = Snapshot.load(root)
    needed = required_modes(modes) if modes else MODES
    missing = [m for m in needed if not (root / "indexes" / m / "index.json").is_file()]
    if missing:
        build_indexes(snapshot, modes=missing)
    return snapshot


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table; floats with three decimals, other values as they print."""
    def cell(value) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure_atomic(figure, path: str | Path) -> Path:
    """Save a matplotlib figure as PNG through a temporary file renamed into place, then close it."""
    with atomic_file(path) as staging:
        figure.savefig(staging, dpi=120, format="png")
    pyplot().close(figure)
    return Path(path)


def parse_args(cls, description: str, argv=None):
    """An instance of the dataclass ``cls`` from ``--field value`` flags (help from field docstrings)."""
    return parse_dataclass(cls, description, argv)


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
