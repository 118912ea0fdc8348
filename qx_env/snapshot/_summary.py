"""A readable summary of a snapshot: what ``qx corpus info`` prints."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from qx_env.snapshot._schema import SPLITS
from qx_env.snapshot._snapshot import Snapshot

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _lengths(snapshot: Snapshot, mask: np.ndarray | None = None) -> str:
    lengths = pc.utf8_length(snapshot.items.column("text")).to_numpy()
    if mask is not None:
        lengths = lengths[mask]
    if len(lengths) == 0:
        return "-"
    return " / ".join(str(int(q)) for q in np.quantile(lengths, QUANTILES))


def describe(snapshot: Snapshot, samples: int = 3, seed: int = 0) -> str:
    """Counts by category, label share, length quantiles, reports and a few sample rows."""
    items, labels = snapshot.items, snapshot.labels
    meta = snapshot.meta
    lines = [
        f"snapshot {meta.name}  ({snapshot.path or 'in memory'})",
        (f"language {meta.language}  seed {meta.seed}  schema v{meta.schema_version}  "
        f"generator {meta.generator.get('name')} {meta.generator.get('version', '')}"),
        (f"items {len(snapshot):,}  toxic {int(labels.sum()):,} ({labels.mean() if len(labels) else 0:.2%})  "
        f"clusters {meta.counts.get('clusters', '?')}"),
    ]
    if "hard_negative" in items.column_names:
        hard = pc.sum(items.column("hard_negative")).as_py() or 0
        lines.append(f"hard negatives {hard:,} ({hard / len(snapshot):.2%})")
    q = "/".join(f"p{int(x * 100)}" for x in QUANTILES)
    lines += [
        (f"length ({q}, characters): all {_lengths(snapshot)} | toxic {_lengths(snapshot, labels == 1)} "
        f"| normal {_lengths(snapshot, labels == 0)}"),
        "",
        f"{'category':<28}{'items':>9}{'toxic':>8}{'share':>8}",
    ]
    table = items.select(["category", "label"]).group_by("category").aggregate([("label", "count"), ("label", "sum")])
    rows = sorted(zip(*(table.column(c).to_pylist() for c in ("category", "label_count", "label_sum"))),
                  key=lambda r: (-r[1], r[0]))
    for category, count, toxic in rows:
        lines.append(f"{category[:27]:<28}{count:>9,}{toxic:>8,}{toxic / count:>8.1%}")
    reports = snapshot.reports
    annotated = pc.list_value_length(reports.column("annotations")).to_numpy()
    counts = meta.counts.get("splits", {})
    splits = ", ".join(f"{k} {counts[k]}" for k in SPLITS if k in counts)
    lines += ["", (f"reports {reports.num_rows:,} ({splits}); annotated {int((annotated > 0).sum()):,}, "
              f"{annotated.mean() if len(annotated) else 0:.2f} phrases per report")]
    fractions = (meta.generator.get("params") or {}).get("split_fractions") or (1, 1, 1)
    empty_splits = [k for k, share in zip(SPLITS, fractions) if share and not counts.get(k)]
    if reports.num_rows and empty_splits:
        lines.append(f"no reports in {' and '.join(empty_splits)}: too few toxic clusters to fill every split "
                     "(a cluster stays in one split); episodes there have nothing to start from")
    if reports.num_rows == 0:
        lines.append("no reports: no episode can start from this snapshot (it has no reported toxic item); "
                     "rebuild it with toxic items (qx corpus synth --toxic-share, or compose with toxic rows)")
    kinds_column = reports.column("annotation_kinds") if "annotation_kinds" in reports.column_names else None
    if kinds_column is not None and pa.types.is_list(kinds_column.type):  # type null: written empty
        kinds = pc.value_counts(pc.list_flatten(kinds_column)).to_pylist()
        if kinds:
            lines.append("annotation kinds: " + ", ".join(f"{k['values']} {k['counts']}" for k in kinds))
    rng = np.random.default_rng(seed)
    lines.append("")
    for label, title in ((1, "toxic"), (0, "normal")):
        rows = np.flatnonzero(labels == label)
        for row in rng.choice(rows, size=min(samples, len(rows)), replace=False) if len(rows) else []:
            text = snapshot.texts[row]
            lines.append(f"[{title} | {items.column('category')[row].as_py()}] {text[:160]}{'…' if len(text) > 160 else ''}")
    return "\n".join(lines)
