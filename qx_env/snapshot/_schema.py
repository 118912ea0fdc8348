"""The snapshot schema: required columns of items and reports, and their validation."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from qx_env.errors import SnapshotError

SCHEMA_VERSION = 1
SPLITS = ("train", "dev", "test")
#: The split names in words, for messages: "train, dev or test".
SPLIT_WORDS = f"{', '.join(SPLITS[:-1])} or {SPLITS[-1]}"


def check_split_names(names: list[str]) -> None:
    """Refuse split names other than train, dev and test, naming them and the valid ones."""
    unknown = [name for name in names if name not in SPLITS]
    if unknown:
        raise SnapshotError(f"unknown split {', '.join(repr(n) for n in unknown)}: a split is {SPLIT_WORDS}")

#: Required item columns and their Arrow types. Extra columns are kept as they are.
ITEM_COLUMNS: dict[str, pa.DataType] = {
    "id": pa.string(),
    "text": pa.string(),
    "label": pa.int8(),  # 1 toxic, 0 normal; hidden from policies
    "category": pa.string(),
    "cluster_id": pa.string(),  # campaign or near-duplicate cluster; null when none
    "seller_id": pa.string(),  # null when the source has no sellers
    "created_step": pa.int32(),
}
#: Columns that may hold nulls.
NULLABLE_ITEM_COLUMNS = frozenset({"cluster_id", "seller_id"})

#: Required report columns: a report points at a toxic item and carries the auditor's phrases.
REPORT_COLUMNS: dict[str, pa.DataType] = {
    "report_id": pa.string(),
    "item_id": pa.string(),
    "annotations": pa.list_(pa.string()),  # phrases an auditor marked; possibly empty
    "split": pa.string(),
}


def _cast_columns(table: pa.Table, columns: dict[str, pa.DataType], where: str) -> pa.Table:
    missing = [name for name in columns if name not in table.column_names]
    if missing:
        raise SnapshotError(
            f"{where} is missing required column(s) {', '.join(missing)}; "
            f"it has {', '.join(table.column_names) or 'no columns'}"
        )
    for name, dtype in columns.items():
        column = table.column(name)
        if column.type == dtype:
            continue
        if pa.types.is_null(column.type):
            column = pa.nulls(len(column), dtype)
        else:
            try:
                column = column.cast(dtype)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SnapshotError(
                    f"{where}: column {name!r} has type {column.type}, which cannot be read as {dtype} ({exc})"
                ) from None
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def _first(values: pa.Array | pa.ChunkedArray, mask, n: int = 5) -> list:
    return pc.filter(values, mask).slice(0, n).to_pylist()


def _check_unique(column: pa.ChunkedArray, name: str, where: str) -> None:
    counts = pc.value_counts(column)
    repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(repeated):
        raise SnapshotError(
            f"{where}: {len(repeated)} duplicate {name} value(s), e.g. {repeated.slice(0, 5).to_pylist()}"
        )


def validate_items(table: pa.Table, where: str = "items.parquet") -> pa.Table:
    """Check and cast an items table; return it with the required columns in their canonical types."""
    if "label" in table.column_names and not pa.types.is_integer(table.column("label").type):
        label = table.column("label")
        if not (pa.types.is_boolean(label.type) or pa.types.is_floating(label.type)):
            raise SnapshotError(f"{where}: column 'label' must be 0/1 integers, got type {label.type}")
    if "label" in table.column_names:
        label = table.column("label")
        bad = pc.invert(pc.is_in(label.cast(pa.float64()), value_set=pa.array([0.0, 1.0])))
        bad = pc.fill_null(bad, True)
        if pc.any(bad).as_py():
            raise SnapshotError(
                f"{where}: {pc.sum(bad).as_py()} label(s) outside {{0, 1}}, "
                f"e.g. {_first(label, bad)} (ids {_first(table.column('id'), bad) if 'id' in table.column_names else '?'})"
            )
    table = _cast_columns(table, ITEM_COLUMNS, where)
    for name in ITEM_COLUMNS:
        if name in NULLABLE_ITEM_COLUMNS:
            continue
        nulls = table.column(name).null_count
        if nulls:
            raise SnapshotError(f"{where}: column {name!r} has {nulls} null value(s)")
    _check_unique(table.column("id"), "id", where)
    empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(table.column("text"))), 0)
    if pc.any(empty).as_py():
        raise SnapshotError(
            f"{where}: {pc.sum(empty).as_py()} empty text(s), ids {_first(table.column('id'), empty)}"
        )
    return table


def validate_reports(reports: pa.Table, items: pa.Table, where: str = "reports.parquet") -> pa.Table:
    """Check and cast a reports table against the items it points at."""
    reports = _cast_columns(reports, REPORT_COLUMNS, where)
    for name in ("report_id", "item_id", "split"):
        if reports.column(name).null_count:
            raise SnapshotError(f"{where}: column {name!r} has null value(s)")
    _check_unique(reports.column("report_id"), "report_id", where)
    unknown = pc.invert(pc.is_in(reports.column("item_id"), value_set=items.column("id")))
    if pc.any(unknown).as_py():
        raise SnapshotError(
            f"{where}: {pc.sum(unknown).as_py()} report(s) point at item ids not in items.parquet, "
            f"e.g. {_first(reports.column('item_id'), unknown)}"
        )
    bad_split = pc.invert(pc.is_in(reports.column("split"), value_set=pa.array(SPLITS)))
    if pc.any(bad_split).as_py():
        raise SnapshotError(
            f"{where}: split values must be {SPLIT_WORDS}, got "
            f"{', '.join(repr(v) for v in sorted(set(_first(reports.column('split'), bad_split))))}"
        )
    annotations = reports.column("annotations")
    if annotations.null_count:
        filled = pc.if_else(pc.is_null(annotations), pa.scalar([], pa.list_(pa.string())), annotations)
        reports = reports.set_column(reports.schema.get_field_index("annotations"), "annotations", filled)
    return reports


def check_schema_version(version: object, where: str) -> int:
    """Refuse snapshots written by a newer qx-env (or with no version at all)."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SnapshotError(f"{where}: 'schema_version' must be a positive integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise SnapshotError(
            f"{where}: snapshot schema version {version} is newer than this qx-env supports "
            f"({SCHEMA_VERSION}); upgrade qx-env to read it"
        )
    return version
