"""Snapshot corpora: items with hidden labels, reports, metadata, splits."""

from qx_env.snapshot._meta import SnapshotMeta
from qx_env.snapshot._schema import ITEM_COLUMNS, REPORT_COLUMNS, SCHEMA_VERSION, SPLITS
from qx_env.snapshot._snapshot import Snapshot, check_target, file_sha256
from qx_env.snapshot._splits import (
    DEFAULT_FRACTIONS,
    SPLIT_RULES,
    SplitRule,
    assign_splits,
    assign_time_splits,
    split_reports,
)
from qx_env.snapshot._summary import describe
from qx_env.snapshot._texts import TextColumn

__all__ = [
    "DEFAULT_FRACTIONS",
    "ITEM_COLUMNS",
    "REPORT_COLUMNS",
    "SCHEMA_VERSION",
    "SPLITS",
    "SPLIT_RULES",
    "Snapshot",
    "SnapshotMeta",
    "SplitRule",
    "TextColumn",
    "assign_splits",
    "assign_time_splits",
    "check_target",
    "describe",
    "file_sha256",
    "split_reports",
]
