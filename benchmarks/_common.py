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


def _command() -> str:
    """How this process was started, as a user would type it: ``qx bench ...`` or ``python -m benchmarks.x ...``."""
    import shlex
    import sys

    program = Path(sys.argv[0])
    if program.name == "qx":
        return shlex.join(["qx", *sys.argv[1:]])
    if program.suffix == ".py" and program.parent.name == "benchmarks":
        return shlex.join(["python", "-m", f"benchmarks.{program.stem}", *sys.argv[1:]])
    return shlex.join([program.name, *sys.argv[1:]])


def machine() -> dict:
    """The machine a figure was measured on: platform, cores, memory, GPU (none without nvidia-smi) and the
    load averages when the figure was written (the machines are shared: ratios measured in one run)."""
    memory = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            memory = round(int(next(line for line in info if line.startswith("MemTotal")).split()[1]) / 2**20, 1)
    except (OSError, StopIteration, ValueError):
        pass
    try:
        gpus = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        gpus = ""
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "memory_gib": memory, "gpus": [line.strip() for line in gpus.splitlines() if line.strip()],
            "load_1_5_15": [round(x, 2) for x in os.getloadavg()]}


def describe_run(args) -> dict:
    """Command, date, machine, versions, config and git commit (with whether the tree had uncommitted
    changes), stored beside every benchmark's figures."""
    from datetime import UTC, datetime
    from importlib.metadata import version

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                    text=True, check=False).stdout.strip())
    except OSError:
        commit, dirty = None, None
    return {
        "command": _command(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": {p: version(p) for p in ("qx-env", "pyserini", "faiss-cpu", "networkx", "numpy", "gymnasium")},
        "git_commit": commit,
        "git_dirty": dirty,
        "config": asdict(args),
    }
