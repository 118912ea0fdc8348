"""Training curves from run cards: the SFT loss, and for DPO the loss with the implicit rewards of
the chosen and rejected answers, their margin and the share of pairs ranked right."""

from __future__ import annotations

import json
from pathlib import Path

from qx_env.files import atomic_file

#: DPO's logged reward keys, plotted together on one axis (beta x log-ratio to the reference model).
DPO_REWARDS = ("rewards/chosen", "rewards/rejected", "rewards/margins")


def training_log(run: str | Path) -> list[dict]:
    """Every logged step (``step``, ``loss``, ...) of the run card in ``run`` (a run directory, or
    its ``final`` model); [] where there is none."""
    run = Path(run)
    card = run / "run_card.json" if (run / "run_card.json").is_file() else run.parent / "run_card.json"
    return json.loads(card.read_text())["log"] if card.is_file() else []


def _series(log: list[dict], key: str) -> tuple[list[int], list[float]]:
    rows = [entry for entry in log if key in entry and "step" in entry]
    return [e["step"] for e in rows], [float(e[key]) for e in rows]


def plot_training(runs: dict[str, str | Path], path: str | Path, context: str) -> Path:
    """One PNG of the runs' curves (``runs``: name -> run directory; a DPO run, whose log holds
    rewards, adds reward and accuracy panels), titled with ``context`` (model, data, seed); atomic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []  # (title, y label, [(label, steps, values)])
    for name, run in runs.items():
        log = training_log(run)
        panels.append((f"{name} loss", "loss", [("loss", *_series(log, "loss"))]))
        if any(DPO_REWARDS[0] in entry for entry in log):
            panels.append((f"{name} implicit rewards", "reward (beta x log-ratio)",
                           [(key.split("/")[1], *_series(log, key)) for key in DPO_REWARDS]))
            panels.append((f"{name} reward accuracy", "share of pairs chosen > rejected",
                           [("accuracy", *_series(log, "rewards/accuracies"))]))
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6), squeeze=False)
    for axis, (title, ylabel, lines) in zip(axes[0], panels):
        for label, steps, values in lines:
            axis.plot(steps, values, marker="." if len(steps) < 60 else None, label=label)
        logged = max((len(steps) for _, steps, _ in lines), default=0)
        axis.set_title(f"{title} ({logged} logged steps)" if logged else f"{title} (not logged)", fontsize=9)
        axis.set_xlabel("optimizer step")
        axis.set_ylabel(ylabel)
        if len(lines) > 1:
            axis.legend(fontsize=8)
    figure.suptitle(context, fontsize=9)
    figure.tight_layout()
    with atomic_file(path) as staging:
        figure.savefig(staging, dpi=120, format="png")
    plt.close(figure)
    return Path(path)
