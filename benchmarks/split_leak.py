"""The split leak of planted real corpora: test reports whose text has a near-duplicate among the training
reports, when the campaign split keeps only campaigns together (before) and when it keeps split groups
together (after: campaigns holding near-duplicates of each other, ``split_group``).

For each preset and seed the world is composed as the fidelity bench composes it (the preset's share,
real benign texts plus ``--background-items`` synthetic normals, ``--report-share``); both splits are made by
the snapshot's own rule and seed from its reports' campaigns or groups. A test report leaks when a training
report's text lies at character n-gram TF-IDF cosine ``>= --cosine`` (the compose rule's similarity,
``near_duplicate_pairs``, fitted on the world's report texts; its own threshold by default), and strongly at
``>= 0.7``.

    python -m benchmarks.split_leak            # also: qx bench leak

Writes results.json and table.md under ``--out``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks._common import describe_run, markdown_table, parse_args, write_text_atomic
from qx_env.corpus.compose import NEAR_DUPLICATE
from qx_env.flags import SpecList

#: The cosine above which a leak is strong (no pair reached it in the worlds measured so far).
STRONG = 0.7


@dataclass
class Args:
    presets: SpecList = ("harm-zh", "fbs-zh")
    """Presets composed (qx corpus compose --preset)."""
    seeds: tuple[int, ...] = (0,)
    """Seeds of the composed worlds."""
    background_items: int = 30_000
    """Synthetic normals beside the presets' real benign texts (the fidelity bench's default)."""
    report_share: float = 0.6
    """Share of the toxic items reported (the fidelity bench's default)."""
    cosine: float = NEAR_DUPLICATE
    """Character n-gram TF-IDF cosine at which a training report leaks into a test report."""
    data_dir: str = "../shared/data"
    """The real corpora (see ../shared/data/README.md)."""
    out: str = "reports/bench/split-leak"
    """Output directory: results.json, table.md."""


def leak(texts: list[str], campaigns: list[str], splits: list[str], language: str, cosine: float) -> dict:
    """Test reports with a training report at ``cosine`` or more (and at :data:`STRONG`), by the compose rule's
    own similarity (:func:`~qx_env.corpus.compose.near_duplicate_pairs` over the reports' texts), and test
    campaigns that also have training reports."""
    from qx_env.corpus.compose import near_duplicate_pairs

    splits_array, campaign_array = np.asarray(splits), np.asarray(campaigns, dtype=object)
    in_test, in_train = splits_array == "test", splits_array == "train"
    test, train = np.flatnonzero(in_test), np.flatnonzero(in_train)

    def leaking(threshold: float) -> int:
        a, b = near_duplicate_pairs(texts, language, threshold)
        return len(np.unique(np.concatenate([a[in_test[a] & in_train[b]], b[in_test[b] & in_train[a]]])))

    return {"test_reports": len(test), "train_reports": len(train),
            "leaking": leaking(cosine), "leaking_strongly": leaking(STRONG),
            "test_campaigns_in_train": len(set(campaign_array[test]) & set(campaign_array[train])),
            "shares": [round(float((splits_array == s).mean()), 3) for s in ("train", "dev", "test")]}


def measure(preset: str, seed: int, args: Args) -> dict:
    """One composed world's leak under both groupings, and its split groups."""
    from qx_env.corpus import compose, get_preset
    from qx_env.snapshot import SplitRule, split_reports

    snapshot = compose(get_preset(preset), args.data_dir, seed=seed, report_share=args.report_share,
                       background_items=args.background_items, progress=False)
    rule = SplitRule(**snapshot.meta.split)
    texts, campaigns = snapshot.report_texts(), snapshot.report_campaigns()
    steps = [0] * len(texts)
    rows = {name: leak(texts, campaigns, split_reports(rule, groups, steps), snapshot.language, args.cosine)
            for name, groups in (("campaigns", campaigns), ("split groups", snapshot.report_split_groups()))}
    return {"preset": preset, "seed": seed, "reports": len(texts),
            "groups": snapshot.meta.generator["composition"]["families"]["split_groups"], "split_by": rows}


def main(args: Args) -> dict:
    from tqdm.auto import tqdm

    started = time.perf_counter()
    cells = [measure(preset, seed, args) for preset in tqdm(args.presets, desc="presets") for seed in args.seeds]
    header = ["preset", "seed", "reports", "split by", "test reports", f"leaking (cos >= {args.cosine:g})",
              f"strongly (>= {STRONG:g})", "test campaigns in train", "shares train/dev/test", "largest group"]
    body = [[c["preset"], c["seed"], c["reports"], name, row["test_reports"], row["leaking"], row["leaking_strongly"],
             row["test_campaigns_in_train"], "/".join(f"{s:.2f}" for s in row["shares"]),
             c["groups"]["largest_group_items"]]
            for c in cells for name, row in c["split_by"].items()]
    run = describe_run(args)
    text = (f"The split leak of planted real corpora: {args.background_items:,} synthetic normals beside the real "
            f"benign texts, report share {args.report_share:g}; a test report leaks when a training report lies at "
            f"character 1-3-gram TF-IDF cosine >= {args.cosine:g}.\nCommand: python -m benchmarks.split_leak; commit "
            f"{run['git_commit']}.\n\n" + markdown_table(header, body))
    results = {"cells": cells, "seconds": round(time.perf_counter() - started, 1), **run}
    out = Path(args.out)
    write_text_atomic(out / "results.json", json.dumps(results, indent=1, ensure_ascii=False))
    write_text_atomic(out / "table.md", text + "\n")
    print(text)
    return results


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
