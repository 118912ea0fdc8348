"""The :class:`Snapshot`: a corpus of items with hidden labels, and the reports that start episodes."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qx_env.errors import SnapshotError
from qx_env.files import atomic_directory, atomic_file, file_sha256, write_text_atomic
from qx_env.flags import name_list
from qx_env.snapshot._meta import SnapshotMeta
from qx_env.snapshot._schema import SPLITS, check_split_names, validate_items, validate_reports
from qx_env.snapshot._splits import SplitRule, split_reports
from qx_env.snapshot._texts import TextColumn

ITEMS_FILE = "items.parquet"
REPORTS_FILE = "reports.parquet"
META_FILE = "meta.json"
DATA_FILES = (ITEMS_FILE, REPORTS_FILE)


def check_target(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """``path`` resolved, if a snapshot can be saved there: not a file, not a non-empty directory
    other than a snapshot (a snapshot only with ``overwrite``), inside a writable directory.
    :meth:`Snapshot.save` applies it; commands call it before generating anything."""
    target = Path(path).expanduser().resolve()
    if target.exists():
        if not target.is_dir():
            raise SnapshotError(f"{target} exists and is not a directory; choose another --out")
        if any(target.iterdir()):
            if not (target / META_FILE).is_file():
                raise SnapshotError(f"{target} exists, is not empty and is not a snapshot; choose another --out")
            if not overwrite:
                raise SnapshotError(f"snapshot {target} already exists; pass overwrite (--overwrite) to replace it")
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise SnapshotError(f"cannot write {target}: {parent} is not a directory; choose another --out")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SnapshotError(f"cannot write {target}: directory {parent} is not writable; choose another --out")
    return target


@dataclass(frozen=True)
class Snapshot:
    """A validated snapshot held in memory as Arrow tables.

    ``items`` has one row per listing (``id, text, label, category, cluster_id, seller_id,
    created_step`` and any extra columns); ``reports`` one row per reported toxic item
    (``report_id, item_id, annotations, split``). Build one with :meth:`from_tables` or
    :meth:`load`; write it with :meth:`save`.
    """

    items: pa.Table
    reports: pa.Table
    meta: SnapshotMeta
    path: Path | None = None

    @classmethod
    def from_tables(cls, items: pa.Table, reports: pa.Table, meta: SnapshotMeta) -> Snapshot:
        """Validate tables made in memory (by a generator or a loader) and fill in the counts."""
        items = validate_items(items)
        reports = validate_reports(reports, items)
        snapshot = cls(items=items, reports=reports, meta=meta)
        meta.counts = snapshot.count_summary()
        return snapshot

    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool = True) -> Snapshot:
        """Open a snapshot directory; with ``verify``, check file checksums against ``meta.json``."""
        root = Path(path)
        if not root.is_dir():
            raise SnapshotError(f"snapshot directory {root} does not exist")
        meta = SnapshotMeta.read(root / META_FILE)
        tables = {}
        for name in DATA_FILES:
            file = root / name
            if not file.is_file():
                raise SnapshotError(f"snapshot {root} has no {name}; rebuild it")
            expected = meta.files.get(name, {}).get("sha256")
            if verify and expected and file_sha256(file) != expected:
                raise SnapshotError(
                    f"{file} does not match its checksum in meta.json: the file is corrupted or was "
                    f"edited. Rebuild the snapshot (meta.json 'generator' holds the parameters it was made with)"
                )
            try:
                tables[name] = pq.read_table(file)
            except (pa.ArrowInvalid, OSError) as exc:
                raise SnapshotError(f"{file} is not a readable Parquet file ({exc}); rebuild the snapshot") from None
        items = validate_items(tables[ITEMS_FILE], where=str(root / ITEMS_FILE))
        reports = validate_reports(tables[REPORTS_FILE], items, where=str(root / REPORTS_FILE))
        return cls(items=items, reports=reports, meta=meta, path=root)

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the snapshot atomically: files go to a temporary directory beside ``path``,
        which then replaces ``path`` in one rename. An existing directory is replaced only with
        ``overwrite`` and only if it is a snapshot."""
        target = check_target(path, overwrite)
        with atomic_directory(target) as staging:
            for name, table in ((ITEMS_FILE, self.items), (REPORTS_FILE, self.reports)):
                pq.write_table(table, staging / name, compression="zstd", row_group_size=256_000)
                self.meta.files[name] = {"sha256": file_sha256(staging / name), "bytes": (staging / name).stat().st_size}
            (staging / META_FILE).write_text(self.meta.to_json(), encoding="utf-8")
        return target

    # ---- views -------------------------------------------------------------------------
    @property
    def language(self) -> str:
        return self.meta.language

    @property
    def fingerprint(self) -> str:
        """A digest of the data files; changes whenever items or reports change."""
        digests = "".join(self.meta.files.get(name, {}).get("sha256", "") for name in DATA_FILES)
        if not digests:
            raise SnapshotError("the snapshot has not been saved yet, so it has no fingerprint")
        return hashlib.sha256(digests.encode()).hexdigest()[:16]

    @property
    def items_fingerprint(self) -> str:
        """A digest of the items file alone: what the indexes are built from, unchanged when the reports
        are split anew."""
        digest = self.meta.files.get(ITEMS_FILE, {}).get("sha256", "")
        if not digest:
            raise SnapshotError("the snapshot has not been saved yet, so it has no fingerprint")
        return hashlib.sha256(digest.encode()).hexdigest()[:16]

    @property
    def split_rule(self) -> str:
        """The rule the reports were split by, as results name it (``campaign seed 3, 0.7/0.1/0.2``)."""
        if not self.meta.split:
            return "campaign (filled in turn; made before split rules were recorded)"
        return SplitRule(**self.meta.split).label()

    def __len__(self) -> int:
        return self.items.num_rows

    @cached_property
    def ids(self) -> np.ndarray:
        return self.items.column("id").to_numpy(zero_copy_only=False)

    @cached_property
    def texts(self) -> list[str]:
        return self.items.column("text").to_pylist()

    @property
    def text_column(self) -> TextColumn:
        """The item texts as a sequence read from the Arrow table slice by slice, never held as a
        list (:attr:`texts` is that list, for random access)."""
        return TextColumn(self.items.column("text"))

    @cached_property
    def labels(self) -> np.ndarray:
        return self.items.column("label").to_numpy().astype(np.int8, copy=False)

    @cached_property
    def position_of(self) -> dict[str, int]:
        """Item id -> row position."""
        return {item_id: i for i, item_id in enumerate(self.ids)}

    def reports_in(self, splits: str | Sequence[str]) -> pa.Table:
        """Reports of one split (``train``, ``dev``, ``test``) or several: names, or one string of
        comma-separated names (:func:`qx_env.flags.name_list`)."""
        names = name_list(splits)
        check_split_names(names)
        return self.reports.filter(pc.is_in(self.reports.column("split"), value_set=pa.array(names)))

    def report_campaigns(self, reports: pa.Table | None = None) -> list[str]:
        """The campaign of each report, in report order: its item's cluster, or the report itself when the
        item is in none (a singleton is its own campaign). Reports of one campaign find the same items,
        so they are the unit a comparison resamples."""
        reports = self.reports if reports is None else reports
        clusters = self.items.column("cluster_id").to_pylist()
        return [clusters[self.position_of[item]] or f"report:{report}" for report, item in
                zip(reports.column("report_id").to_pylist(), reports.column("item_id").to_pylist())]

    def report_split_groups(self, reports: pa.Table | None = None) -> list[str]:
        """What the campaign split keeps together, per report: its item's ``split_group`` where the items
        carry one (a composed corpus joins campaigns holding near-duplicates of each other), else its
        campaign (:meth:`report_campaigns`)."""
        reports = self.reports if reports is None else reports
        campaigns = self.report_campaigns(reports)
        if "split_group" not in self.items.column_names:
            return campaigns
        groups = self.items.column("split_group").to_pylist()
        return [groups[self.position_of[item]] or campaign
                for item, campaign in zip(reports.column("item_id").to_pylist(), campaigns)]

    def resplit(self, rule: SplitRule) -> Snapshot:
        """Assign the reports to train, dev and test anew under ``rule`` and write them in place: only
        ``reports.parquet`` and ``meta.json`` change, so the built indexes stay valid (they are tied to the
        items). Returns the re-split snapshot."""
        if self.path is None:
            raise SnapshotError("only a saved snapshot can be split anew; save it first")
        steps = self.items.column("created_step").to_numpy()
        created = [int(steps[self.position_of[item]]) for item in self.reports.column("item_id").to_pylist()]
        splits = split_reports(rule, self.report_split_groups(), created)
        reports = self.reports.set_column(self.reports.column_names.index("split"), "split", pa.array(splits, pa.string()))
        meta = dataclasses.replace(self.meta, split=rule.as_dict(), files=dict(self.meta.files))
        with atomic_file(self.path / REPORTS_FILE) as staging:
            pq.write_table(reports, staging, compression="zstd", row_group_size=256_000)
            meta.files[REPORTS_FILE] = {"sha256": file_sha256(staging), "bytes": staging.stat().st_size}
        snapshot = Snapshot(items=self.items, reports=reports, meta=meta, path=self.path)
        meta.counts = snapshot.count_summary()
        write_text_atomic(self.path / META_FILE, meta.to_json())
        return snapshot

    def report_texts(self, reports: pa.Table | None = None) -> list[str]:
        """Texts of the reported items, in report order."""
        reports = self.reports if reports is None else reports
        texts = self.texts
        return [texts[self.position_of[i]] for i in reports.column("item_id").to_pylist()]

    def count_summary(self) -> dict:
        """Counts stored in ``meta.json``: items, toxic items, clusters, reports per split."""
        labels = self.items.column("label")
        splits = pc.value_counts(self.reports.column("split")).to_pylist()
        return {
            "items": self.items.num_rows,
            "toxic": int(pc.sum(labels).as_py() or 0),
            "categories": len(pc.unique(self.items.column("category"))),
            "clusters": len(pc.unique(self.items.column("cluster_id").drop_null())),
            "reports": self.reports.num_rows,
            "splits": {row["values"]: row["counts"] for row in sorted(splits, key=lambda r: SPLITS.index(r["values"]))},
        }
