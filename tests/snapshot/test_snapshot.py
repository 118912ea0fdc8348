"""Snapshot round-trip, atomic saving, checksums and the errors bad snapshots give."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qx_env import Snapshot, SnapshotError
from qx_env.snapshot import SCHEMA_VERSION, SPLITS


def test_round_trip_keeps_tables_and_meta(synth_snapshot, saved_snapshot):
    loaded = Snapshot.load(saved_snapshot)
    assert loaded.items.equals(synth_snapshot.items)
    assert loaded.reports.equals(synth_snapshot.reports)
    assert loaded.meta.counts == json.loads(json.dumps(synth_snapshot.meta.counts))
    assert loaded.meta.schema_version == SCHEMA_VERSION
    assert loaded.fingerprint == synth_snapshot.fingerprint
    assert set(loaded.reports.column("split").to_pylist()) == set(SPLITS)


def test_views_line_up(synth_snapshot):
    assert len(synth_snapshot.texts) == len(synth_snapshot) == len(synth_snapshot.labels)
    report = synth_snapshot.reports.slice(0, 1)
    (text,) = synth_snapshot.report_texts(report)
    position = synth_snapshot.position_of[report.column("item_id")[0].as_py()]
    assert text == synth_snapshot.texts[position]
    assert synth_snapshot.labels[position] == 1
    test = synth_snapshot.reports_in("test")
    assert set(test.column("split").to_pylist()) == {"test"}
    with pytest.raises(SnapshotError, match="unknown split"):
        synth_snapshot.reports_in("validation")


def _copy(saved, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(saved, target)
    return target


def _rewrite_items(path, change):
    table = pq.read_table(path / "items.parquet")
    pq.write_table(change(table), path / "items.parquet")
    meta = json.loads((path / "meta.json").read_text())
    meta["files"] = {}  # an edited snapshot without checksums: validation must still catch it
    (path / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["text"]), "missing required column.*text"),
        (lambda t: t.set_column(0, "id", pa.array(["same"] * t.num_rows)), "duplicate id"),
        (lambda t: t.set_column(2, "label", pa.array([2] * t.num_rows, pa.int8())), r"label\(s\) outside \{0, 1\}"),
        (lambda t: t.set_column(1, "text", pa.array([" "] + t.column("text").to_pylist()[1:])), "empty text"),
    ],
)
def test_bad_items_give_clear_errors(saved_snapshot, tmp_path, change, message):
    path = _copy(saved_snapshot, tmp_path)
    _rewrite_items(path, change)
    with pytest.raises(SnapshotError, match=message):
        Snapshot.load(path)


def test_newer_schema_version_is_refused(saved_snapshot, tmp_path):
    path = _copy(saved_snapshot, tmp_path)
    meta = json.loads((path / "meta.json").read_text())
    meta["schema_version"] = SCHEMA_VERSION + 1
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SnapshotError, match="newer than this qx-env supports"):
        Snapshot.load(path)


def test_corrupted_file_is_detected_by_checksum(saved_snapshot, tmp_path):
    path = _copy(saved_snapshot, tmp_path)
    data = bytearray((path / "reports.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / "reports.parquet").write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="does not match its checksum.*Rebuild"):
        Snapshot.load(path)


def test_missing_directory_and_meta(tmp_path):
    with pytest.raises(SnapshotError, match="does not exist"):
        Snapshot.load(tmp_path / "nowhere")
    with pytest.raises(SnapshotError, match="no meta.json"):
        Snapshot.load(tmp_path)


def test_report_pointing_at_unknown_item_is_refused(synth_snapshot):
    reports = synth_snapshot.reports.set_column(1, "item_id", pa.array(["ghost"] * synth_snapshot.reports.num_rows))
    with pytest.raises(SnapshotError, match="not in items.parquet"):
        Snapshot.from_tables(synth_snapshot.items, reports, synth_snapshot.meta)


def test_save_refuses_to_clobber(synth_snapshot, saved_snapshot, tmp_path):
    with pytest.raises(SnapshotError, match="already exists"):
        synth_snapshot.save(saved_snapshot)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.txt").write_text("precious")
    with pytest.raises(SnapshotError, match="not a snapshot"):
        synth_snapshot.save(other, overwrite=True)
    assert (other / "thesis.txt").read_text() == "precious"


def test_overwrite_replaces_atomically_and_leaves_no_staging(synth_snapshot, tmp_path):
    target = synth_snapshot.save(tmp_path / "snap")
    (target / "stale.txt").write_text("from the old snapshot")
    synth_snapshot.save(target, overwrite=True)
    assert not (target / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap"]
    Snapshot.load(target)


def test_unknown_split_is_named_with_the_valid_ones_in_words(synth_snapshot):
    with pytest.raises(SnapshotError) as error:
        synth_snapshot.reports_in(["test", "validation"])
    assert str(error.value) == "unknown split 'validation': a split is train, dev or test"


def _report_less(path):
    """A snapshot as older qx-env wrote one without reports: an ``annotation_kinds`` column of type null."""
    from qx_env.snapshot import SnapshotMeta

    n = 12
    items = pa.table({"id": [f"t{i}" for i in range(n)], "text": [f"listing {i}" for i in range(n)],
                      "label": pa.array([0] * n, pa.int8()), "category": ["misc"] * n,
                      "cluster_id": pa.nulls(n, pa.string()), "seller_id": pa.nulls(n, pa.string()),
                      "created_step": pa.array([0] * n, pa.int32())})
    reports = pa.table({"report_id": pa.array([], pa.string()), "item_id": pa.array([], pa.string()),
                        "annotations": pa.array([]), "split": pa.array([], pa.string()),
                        "annotation_kinds": pa.array([])})
    meta = SnapshotMeta(language="zh", name="old", seed=0, generator={"name": "tests"})
    return Snapshot.from_tables(items, reports, meta).save(path)


def test_info_on_a_report_less_snapshot_says_so_without_a_traceback(tmp_path, capsys):
    from qx_env.cli import main

    path = _report_less(tmp_path / "old")
    assert pq.read_schema(path / "reports.parquet").field("annotation_kinds").type == pa.null()
    assert main(["corpus", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "reports 0" in out and "no reports: no episode can start from this snapshot" in out


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_saved_directories_follow_the_umask(synth_snapshot, tmp_path, umask):
    import os

    previous = os.umask(umask)
    try:
        target = synth_snapshot.save(tmp_path / "snap")
        synth_snapshot.save(target, overwrite=True)
    finally:
        os.umask(previous)
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask


def test_check_target_refuses_before_any_work(tmp_path):
    from qx_env.snapshot import check_target

    (tmp_path / "file").write_text("x")
    with pytest.raises(SnapshotError, match="exists and is not a directory"):
        check_target(tmp_path / "file")
    with pytest.raises(SnapshotError, match=r"cannot write .*file[/\\]sub: .*file is not a directory"):
        check_target(tmp_path / "file" / "sub")
    assert check_target(tmp_path / "new" / "deeper") == (tmp_path / "new" / "deeper").resolve()
    assert not (tmp_path / "new").exists()


def test_text_column_reads_an_arrow_column_as_a_sequence_of_strings(synth_snapshot, monkeypatch):
    from qx_env.snapshot import TextColumn, _texts

    column = synth_snapshot.text_column
    texts = synth_snapshot.texts
    assert isinstance(column, TextColumn) and len(column) == len(texts)
    assert column[5:90] == texts[5:90] and column[-3:] == texts[-3:] and column[::500] == texts[::500]
    assert column[::-7] == texts[::-7] and column[90:5:-3] == texts[90:5:-3]
    assert list(column.between(40, 75)) == texts[40:75]
    assert column[7] == texts[7] and column[-1] == texts[-1]
    monkeypatch.setattr(_texts, "ITER_CHUNK", 1000)
    assert list(column) == texts
