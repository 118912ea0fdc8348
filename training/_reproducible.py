"""One place for what makes a training run repeat: the same seed gives the same weights and the
same logged figures on one machine.

Inside :func:`reproducible` the torch thread count is fixed, torch runs only deterministic
algorithms (CUDA's cuBLAS workspace set as they need), cuDNN autotuning is off, and python, numpy
and torch are seeded (``transformers.set_seed``) before the model is loaded, so a freshly
initialised head or adapter depends on the seed alone, never on what the process did before. The
trainers get ``seed`` and ``data_seed`` (data order) and load data in the main process. Everything
is restored on exit, so the process's later work (evaluation, mining) is untouched. The known
deprecation warnings that trl and peft raise from their own code are filtered by message and
category (``qx_env.models.KNOWN_WARNINGS``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from qx_env.models import known_warnings_filtered


def trainer_seeds(seed: int) -> dict:
    """The trainer arguments of a repeatable run: model and data-order seeds, no loader workers."""
    return {"seed": seed, "data_seed": seed, "dataloader_num_workers": 0}


@contextmanager
def reproducible(seed: int, threads: int = 1) -> Iterator[dict]:
    """Seeded, deterministic torch on ``threads`` CPU threads (0: torch's count) for the block;
    yields the settings for the run card."""
    import torch
    import transformers

    previous = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled(), torch.backends.cudnn.deterministic,
                torch.backends.cudnn.benchmark, os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
                torch.utils.deterministic.fill_uninitialized_memory)
    if threads > 0:
        torch.set_num_threads(threads)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS (CUDA >= 10.2)
    torch.use_deterministic_algorithms(True)
    # Deterministic mode also fills every torch.empty with NaN, a debugging aid that changes no result of a
    # kernel that writes before it reads; it cost a third of a tiny model's SFT step (trl's chunked log-prob
    # buffers), so it is off. The byte-for-byte tests of training runs hold either way.
    torch.utils.deterministic.fill_uninitialized_memory = False
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    transformers.set_seed(seed)
    settings = {"seed": seed, "torch_threads": torch.get_num_threads(), "deterministic_algorithms": True,
                "versions": _versions()}
    try:
        with known_warnings_filtered():
            yield settings
    finally:
        threads_before, enabled, warn_only, cudnn_deterministic, cudnn_benchmark, workspace, fill = previous
        torch.set_num_threads(threads_before)
        torch.utils.deterministic.fill_uninitialized_memory = fill
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn_deterministic, cudnn_benchmark
        if workspace is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("torch", "transformers", "trl", "peft", "accelerate"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
