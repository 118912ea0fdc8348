"""Near-duplicates on real and synthetic text, by the item graph's rule (MinHash Jaccard of
character 3-shingles >= 0.5, :mod:`indexes._minhash`).

For each corpus and role (toxic, benign): the share of texts with at least one near-duplicate and
the near-duplicate pairs per text. The real corpora are those the generator's rates were measured
on (``../shared/data``); the synthetic marketplace is measured at the demo's size. Where the
synthetic shares sit outside the real range, the graph's near-duplicate edges are an artifact of
the generator, not of the platform. For synthetic campaigns it also gives the share of toxic
near-duplicate pairs that lie inside one campaign.

``python -m benchmarks.near_duplicates`` (``qx bench duplicates``) writes ``results.json``,
``table.md`` and ``near_duplicates.png`` under ``--out``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks._common import (
    describe_run,
    markdown_table,
    parse_args,
    pyplot,
    save_figure_atomic,
    write_text_atomic,
)
from indexes import NEAR_DUPLICATE_JACCARD, near_duplicates


@dataclass
class Args:
    items: tuple[int, ...] = (200_000,)
    """Synthetic corpus sizes measured (the demo's snapshot has 200,000 items)."""
    seed: int = 0
    """Seed of the synthetic corpora."""
    threshold: float = NEAR_DUPLICATE_JACCARD
    """Jaccard similarity at which two texts are near-duplicates (the graph's rule)."""
    real: bool = True
    """Also measure the real corpora of --data-dir."""
    data_dir: str = "../shared/data"
    """The real corpora (see ../shared/data/README.md)."""
    out: str = "reports/bench/duplicates"
    """Directory of results.json, table.md and the plot."""


def duplicate_structure(texts: list[str], threshold: float, groups: list[str | None] | None = None) -> dict:
    """Share of ``texts`` with a near-duplicate and pairs per text; with ``groups`` (campaign ids,
    None for none) also the share of pairs inside one group."""
    pairs = near_duplicates(texts, threshold)
    linked = np.zeros(len(texts), dtype=bool)
    linked[pairs.ravel()] = True
    row = {"texts": len(texts), "with_duplicate": round(float(linked.mean()), 4) if len(texts) else None,
           "pairs_per_text": round(len(pairs) / len(texts), 4) if len(texts) else None}
    if groups is not None and len(pairs):
        same = [groups[a] is not None and groups[a] == groups[b] for a, b in pairs.tolist()]
        row["pairs_in_one_campaign"] = round(float(np.mean(same)), 4)
    return row


def synthetic_rows(items: int, seed: int, threshold: float) -> list[dict]:
    """Toxic and benign rows of a synthetic marketplace of ``items`` listings."""
    from qx_env.corpus import SynthConfig, synthesize

    snapshot = synthesize(SynthConfig(items=items, seed=seed), progress=False)
    labels = np.asarray(snapshot.labels).astype(bool)
    texts, clusters = list(snapshot.texts), snapshot.items.column("cluster_id").to_pylist()
    rows = []
    for role, mask in (("toxic", labels), ("benign", ~labels)):
        chosen = np.flatnonzero(mask)
        row = duplicate_structure([texts[i] for i in chosen], threshold,
                                  [clusters[i] for i in chosen] if role == "toxic" else None)
        rows.append({"corpus": f"synthetic {items:,} (seed {seed})", "role": role, **row})
    return rows


def real_rows(data_dir: Path, threshold: float) -> list[dict]:
    """One row per real corpus of the generator's measurements."""
    from qx_env.corpus.synth import real_corpora

    return [{"corpus": name, "role": role, **duplicate_structure(texts, threshold)}
            for name, (texts, _, role) in real_corpora(data_dir).items()]


def plot(rows: list[dict], threshold: float, path: Path) -> Path:
    """Horizontal bars: share of texts with a near-duplicate, per corpus and role."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.6))
    labels = [f"{r['corpus']} [{r['role']}] n={r['texts']:,}" for r in rows]
    colours = ["tab:red" if r["role"] == "toxic" else "tab:blue" for r in rows]
    hatches = ["//" if r["corpus"].startswith("synthetic") else "" for r in rows]
    bars = axis.barh(range(len(rows)), [r["with_duplicate"] for r in rows], color=colours)
    for bar, hatch in zip(bars, hatches):
        bar.set_hatch(hatch)
    axis.set_yticks(range(len(rows)), labels, fontsize=8)
    axis.invert_yaxis()
    axis.set_xlim(0, 1)
    axis.set_xlabel("share of texts with a near-duplicate")
    axis.set_title(f"Near-duplicates by the item graph's rule (MinHash Jaccard of 3-shingles >= {threshold})\n"
                   "real corpora plain, synthetic marketplace hatched; red toxic, blue benign",
                   fontsize=9)
    figure.tight_layout()
    return save_figure_atomic(figure, path)


def main(args: Args) -> int:
    out = Path(args.out)
    rows = []
    for items in args.items:
        started = time.perf_counter()
        rows += synthetic_rows(items, args.seed, args.threshold)
        print(f"synthetic {items:,}: {time.perf_counter() - started:.1f} s", flush=True)
    if args.real:
        rows += real_rows(Path(args.data_dir), args.threshold)
    header = ["corpus", "role", "texts", "with a near-duplicate", "pairs per text", "pairs in one campaign"]
    table = markdown_table(header, [[r["corpus"], r["role"], r["texts"], r["with_duplicate"], r["pairs_per_text"],
                                     r.get("pairs_in_one_campaign", "")] for r in rows])
    print(table)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "results.json", json.dumps({"run": describe_run(args), "rows": rows}, indent=2,
                                                       ensure_ascii=False))
    write_text_atomic(out / "table.md", table + "\n")
    plot(rows, args.threshold, out / "near_duplicates.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(parse_args(Args, __doc__.splitlines()[0])))
