"""Snapshots from real corpora (shared/data) and from any column-mapped file."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from qx_env import CorpusSourceError, Snapshot
from qx_env.corpus import PRESETS, Source, compose, get_preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_build_valid_snapshots(name, data_dir, tmp_path):
    snapshot = compose(get_preset(name), data_dir=data_dir, seed=0, progress=False)
    loaded = Snapshot.load(snapshot.save(tmp_path / name))
    share = loaded.labels.mean()
    assert 0.02 < share < 0.5
    assert loaded.reports.num_rows > 20
    toxic = loaded.items.filter(loaded.items.column("label").cast("bool"))
    assert toxic.column("cluster_id").null_count == 0
    # clusters are campaigns: several items each, within one category
    sizes = pd.Series(toxic.column("cluster_id").to_pylist()).value_counts()
    assert sizes.median() >= 5
    assert len(loaded.meta.sources) == len(PRESETS[name].sources)
    assert all(len(s["sha256"]) == 64 for s in loaded.meta.sources)


def test_harm_zh_does_not_use_the_translated_compliant_class(data_dir):
    snapshot = compose(get_preset("harm-zh"), data_dir=data_dir, progress=False)
    assert "不违规" not in set(snapshot.items.column("category").to_pylist())


def test_toxic_share_drops_whole_clusters(data_dir):
    snapshot = compose(get_preset("sms-en"), data_dir=data_dir, toxic_share=0.05, progress=False)
    assert snapshot.labels.mean() == pytest.approx(0.05, abs=0.02)


@pytest.fixture()
def table_files(tmp_path):
    rows = [{"body": f"listing number {i} {'cheap pills no prescription' if i % 5 == 0 else 'old sofa'}",
             "kind": "spam" if i % 5 == 0 else "ham", "topic": "health" if i % 5 == 0 else "home"}
            for i in range(60)]
    frame = pd.DataFrame(rows)
    paths = {
        "csv": tmp_path / "rows.csv", "jsonl": tmp_path / "rows.jsonl",
        "parquet": tmp_path / "rows.parquet", "json": tmp_path / "rows.json",
    }
    frame.to_csv(paths["csv"], index=False)
    frame.to_json(paths["jsonl"], orient="records", lines=True, force_ascii=False)
    frame.to_parquet(paths["parquet"])
    paths["json"].write_text(json.dumps(rows))
    return paths


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "json"])
def test_generic_loader_reads_every_format(table_files, fmt):
    source = Source(path=str(table_files[fmt]), text_col="body", label_col="kind", toxic_values=("spam",),
                    category_col="topic")
    snapshot = compose([source], language="en", progress=False)
    assert len(snapshot) == 60
    assert int(snapshot.labels.sum()) == 12
    assert set(snapshot.items.column("category").to_pylist()) == {"health", "home"}


def test_generic_loader_errors_name_file_and_column(table_files, tmp_path):
    with pytest.raises(CorpusSourceError, match=r"rows.csv: no column 'text' for the text; its columns are body"):
        compose([Source(path=str(table_files["csv"]), text_col="text", label_col="kind")], language="en")
    with pytest.raises(CorpusSourceError, match=r"values other than 0/1 .*'ham'.*--toxic-values"):
        compose([Source(path=str(table_files["csv"]), text_col="body", label_col="kind")], language="en")
    with pytest.raises(CorpusSourceError, match="missing.csv does not exist"):
        compose([Source(path=str(tmp_path / "missing.csv"), text_col="body", label_col="kind")], language="en")
    with pytest.raises(CorpusSourceError, match="no toxic item"):
        compose([Source(path=str(table_files["csv"]), text_col="body", label_col="kind",
                        toxic_values=("nothing",))], language="en")


def test_preset_with_wrong_data_dir_says_so(tmp_path):
    with pytest.raises(CorpusSourceError, match="is --data-dir right"):
        compose(get_preset("sms-en"), data_dir=tmp_path, progress=False)
