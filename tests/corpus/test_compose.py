"""Snapshots from real corpora (shared/data) and from any column-mapped file."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest

from qx_env import CorpusSourceError, Snapshot
from qx_env.corpus import PRESETS, Source, compose, get_preset


def _toxic_sizes(snapshot) -> pd.Series:
    items = snapshot.items.select(["label", "cluster_id"]).to_pandas()
    return items.loc[items["label"] == 1, "cluster_id"].value_counts()


def _allowed(share: float, background: int) -> int:
    """Toxic items a background holds at a share: floor(p * B / (1 - p))."""
    return math.floor(share * background / (1 - share) + 1e-9)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_plant_real_toxic_items_at_a_realistic_share(name, data_dir, tmp_path):
    preset = get_preset(name)
    assert 0.002 <= preset.toxic_share <= 0.005  # published prevalence band (see _presets.py)
    # a smaller synthetic part than the preset's auto size (up to 1M), to keep the test quick
    snapshot = compose(preset, data_dir=data_dir, seed=0, background_items=15_000, progress=False)
    loaded = Snapshot.load(snapshot.save(tmp_path / name))
    composition = loaded.meta.generator["composition"]
    background = composition["background"]["items"]
    assert background == len(loaded) - int(loaded.labels.sum())
    assert int(loaded.labels.sum()) == _allowed(preset.toxic_share, background)
    assert composition["background"]["synthetic"]["items"] == 15_000
    assert sum(composition["background"]["real"].values()) == background - 15_000
    assert loaded.reports.num_rows > 10
    toxic = loaded.items.filter(loaded.items.column("label").cast("bool"))
    assert toxic.column("cluster_id").null_count == 0
    # real corpora hold lone toxic texts as well as campaigns; both are planted
    sizes = _toxic_sizes(loaded)
    assert (sizes == 1).sum() == composition["toxic"]["singletons"]["kept"] > 0
    assert (sizes > 1).sum() == composition["toxic"]["clusters"]["kept"] > 0
    assert sizes[sizes > 1].median() >= 3
    assert set(toxic.column("source").to_pylist()) <= {s.name for s in preset.sources}
    assert len(loaded.meta.sources) == len(PRESETS[name].sources)
    assert all(len(s["sha256"]) == 64 for s in loaded.meta.sources)


def test_harm_zh_does_not_use_the_translated_compliant_class(data_dir):
    snapshot = compose(get_preset("harm-zh"), data_dir=data_dir, background="real", toxic_share="source",
                       progress=False)
    assert "不违规" not in set(snapshot.items.column("category").to_pylist())
    assert int(snapshot.labels.sum()) == 8504  # every violation is kept at the source's own share


def test_toxic_share_keeps_whole_clusters_of_a_real_corpus(data_dir):
    full = _toxic_sizes(compose(get_preset("sms-en"), data_dir=data_dir, toxic_share="source",
                                background="real", progress=False))
    snapshot = compose(get_preset("sms-en"), data_dir=data_dir, toxic_share=0.05, background="real",
                       progress=False)
    kept = _toxic_sizes(snapshot)
    assert int(snapshot.labels.sum()) == _allowed(0.05, 4518)
    assert (kept == full[kept.index]).all()
    composition = snapshot.meta.generator["composition"]["toxic"]
    assert composition["items"]["kept"] + composition["items"]["dropped"] == int(full.sum())


def test_auto_background_fits_every_real_toxic_item(data_dir):
    snapshot = compose(get_preset("sms-en"), data_dir=data_dir, toxic_share=0.05, progress=False)
    composition = snapshot.meta.generator["composition"]
    assert composition["toxic"]["items"]["dropped"] == 0
    assert int(snapshot.labels.sum()) == 642
    assert composition["background"]["synthetic"]["sized"] == "auto"
    assert snapshot.labels.mean() == pytest.approx(0.05, abs=1e-4)


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


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))


@pytest.fixture()
def planted_files(tmp_path):
    """A CSV of 6 near-duplicate campaigns of 8 texts, 12 lone toxic texts and 600 normal texts."""
    rng = random.Random(5)
    rows = []
    for campaign in range(6):
        core = " ".join(_word(rng) for _ in range(8))
        for variant in range(8):
            rows.append({"body": f"{core} {_word(rng)} contact {campaign}{variant}", "kind": "spam", "topic": "ads"})
    for _ in range(12):
        rows.append({"body": " ".join(_word(rng) for _ in range(10)), "kind": "spam", "topic": "ads"})
    for _ in range(600):
        rows.append({"body": " ".join(_word(rng) for _ in range(9)), "kind": "ham", "topic": "home"})
    path = tmp_path / "planted.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return Source(path=str(path), text_col="body", label_col="kind", toxic_values=("spam",), category_col="topic")


def test_clusters_and_singletons_of_a_small_corpus(planted_files):
    sizes = _toxic_sizes(compose([planted_files], language="en", cluster_size=8, progress=False))
    assert (sizes == 1).sum() == 12
    assert sorted(sizes[sizes > 1]) == [8] * 6


@pytest.mark.parametrize("share", [0.01, 0.03, 0.05, 0.08])
def test_planted_share_keeps_whole_clusters_and_singletons(planted_files, share):
    full = _toxic_sizes(compose([planted_files], language="en", cluster_size=8, progress=False))
    snapshot = compose([planted_files], language="en", cluster_size=8, toxic_share=share, progress=False)
    kept = _toxic_sizes(snapshot)
    assert int(snapshot.labels.sum()) == _allowed(share, 600)
    assert (kept == full[kept.index]).all()  # every kept cluster is whole
    composition = snapshot.meta.generator["composition"]
    toxic = composition["toxic"]
    for part in ("items", "clusters", "singletons"):
        assert toxic[part]["kept"] + toxic[part]["dropped"] == toxic[part]["available"]
    assert toxic["items"]["available"] == 60 and toxic["clusters"]["available"] == 6
    assert toxic["singletons"]["available"] == 12
    assert toxic["clustered_items"]["kept"] + toxic["singletons"]["kept"] == toxic["items"]["kept"]
    assert composition["background"] == {"items": 600, "real": {"planted.csv": 600}, "real_unused": {},
                                         "real_unused_reason": None, "synthetic": {"items": 0}, "length_range": None}
    assert composition["toxic_share"]["planted"] == pytest.approx(share, abs=1 / 600)
    reports = composition["reports"]
    assert reports["total"] == snapshot.reports.num_rows == reports["train"] + reports["dev"] + reports["test"]


def test_singletons_are_planted_beside_clusters(planted_files):
    kept = [compose([planted_files], language="en", cluster_size=8, toxic_share=0.05, seed=seed,
                    progress=False).meta.generator["composition"]["toxic"]["singletons"]["kept"]
            for seed in range(6)]
    assert sum(kept) > 0


def test_synthetic_background_and_share_sweep(planted_files):
    for share in (0.0005, 0.005, 0.05):
        snapshot = compose([planted_files], language="en", cluster_size=8, toxic_share=share, background="both",
                           background_items="auto", progress=False)
        composition = snapshot.meta.generator["composition"]
        background = composition["background"]
        assert composition["toxic"]["items"]["kept"] == 60  # auto: every toxic item fits
        assert int(snapshot.labels.sum()) == _allowed(share, background["items"]) == 60
        assert background["items"] == 600 + background["synthetic"]["items"]
        synthetic = snapshot.items.filter(pc.starts_with(snapshot.items.column("source"), "qx_env.corpus.synth"))
        assert synthetic.num_rows == background["synthetic"]["items"] > 0
        assert set(synthetic.column("label").to_pylist()) == {0}
        assert snapshot.items.column("seller_id").null_count == len(snapshot)


def test_synth_background_replaces_the_real_one(planted_files):
    snapshot = compose([planted_files], language="en", cluster_size=8, toxic_share=0.01, background="synth",
                       background_items=3000, progress=False)
    composition = snapshot.meta.generator["composition"]
    assert composition["background"]["real"] == {}
    assert composition["background"]["real_unused"] == {"planted.csv": 600}
    assert composition["background"]["real_unused_reason"] == "--background synth"
    assert composition["background"]["synthetic"]["items"] == 3000
    assert int(snapshot.labels.sum()) == _allowed(0.01, 3000)


def test_same_seed_same_snapshot_bytes(planted_files, tmp_path):
    digests = []
    for run in range(2):
        snapshot = compose([planted_files], language="en", cluster_size=8, toxic_share=0.02, background="both",
                           background_items=500, seed=3, progress=False)
        path = snapshot.save(tmp_path / f"run{run}")
        digests.append({name: (path / name).read_bytes() for name in ("items.parquet", "reports.parquet", "meta.json")})
    assert digests[0] == digests[1]


def test_share_the_toxic_items_cannot_reach_is_refused(planted_files):
    with pytest.raises(CorpusSourceError, match=r"60 toxic items are too few for --toxic-share 0.2 over a background "
                       r"of 600 normal items \(it needs 150\); with every toxic item the share reachable is 9.091%"):
        compose([planted_files], language="en", toxic_share=0.2, progress=False)
    with pytest.raises(CorpusSourceError, match=r"too few .* over a background of 5,600 .*fewer --background-items"):
        compose([planted_files], language="en", toxic_share=0.05, background="both", background_items=5000,
                progress=False)
    with pytest.raises(CorpusSourceError, match=r"leaves no toxic item \(one needs 1,999 background items\)"):
        compose([planted_files], language="en", toxic_share=0.0005, progress=False)


def test_bad_parameters_are_clear_errors(planted_files):
    for size in (0, -3):
        with pytest.raises(CorpusSourceError, match=f"--cluster-size must be a whole number of at least 1.*got {size}"):
            compose([planted_files], language="en", cluster_size=size, progress=False)
    with pytest.raises(CorpusSourceError, match=r"--seed must be a whole number in \[0, 4294967295\], got -1"):
        compose([planted_files], language="en", seed=-1, progress=False)
    with pytest.raises(CorpusSourceError, match=r"--toxic-share must be in \(0, 1\)"):
        compose([planted_files], language="en", toxic_share=1.5, progress=False)
    with pytest.raises(CorpusSourceError, match="--background-items sizes the synthetic background"):
        compose([planted_files], language="en", background_items=100, progress=False)


def test_unreadable_encoding_names_the_file_and_suggests_one(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("text,label\n博彩网站注册送彩金,1\n好评质量不错,0\n".encode("gbk"))
    source = Source(path=str(path), text_col="text", label_col="label")
    with pytest.raises(CorpusSourceError, match=r"gbk.csv: cannot decode it as utf-8 \(byte 0x.. at offset \d+\); "
                       r"give the file's encoding, e.g. --encoding gbk"):
        compose([source], language="zh", progress=False)
    snapshot = compose([Source(path=str(path), text_col="text", label_col="label", encoding="gbk")], language="zh",
                       progress=False)
    assert "博彩网站注册送彩金" in snapshot.texts
    with pytest.raises(CorpusSourceError, match="unknown encoding 'klingon'"):
        compose([Source(path=str(path), text_col="text", label_col="label", encoding="klingon")], language="zh")


def test_label_values_are_counted_and_unexpected_ones_refused(tmp_path):
    path = tmp_path / "labels.jsonl"
    rows = ([{"t": f"spam offer {i}", "y": "spam"} for i in range(5)] + [{"t": f"hello {i}", "y": "ham"} for i in range(9)]
            + [{"t": f"unsure {i}", "y": "unknown"} for i in range(3)])
    pd.DataFrame(rows).to_json(path, orient="records", lines=True)
    with pytest.raises(CorpusSourceError, match=r"labels.jsonl: label column 'y': 3 of 17 rows hold values in neither "
                       r"--toxic-values \['spam'\] nor --normal-values \['ham'\]: 'unknown' 3"):
        compose([Source(path=str(path), text_col="t", label_col="y", toxic_values=("spam",), normal_values=("ham",))],
                language="en")
    snapshot = compose([Source(path=str(path), text_col="t", label_col="y", toxic_values=("spam",))], language="en",
                       progress=False)
    assert snapshot.meta.sources[0]["label_values"] == {"ham": 9, "spam": 5, "unknown": 3}
    assert int(snapshot.labels.sum()) == 5
    with pytest.raises(CorpusSourceError, match=r"values other than 0/1 \('ham' 9, 'spam' 5, 'unknown' 3\)"):
        compose([Source(path=str(path), text_col="t", label_col="y")], language="en")


def test_text_with_both_labels_keeps_the_toxic_one(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("text,label\nfree casino bonus now,1\nfree casino bonus now,0\nnice chair,0\nnice chair,0\n"
                    "old lamp,0\n")
    snapshot = compose([Source(path=str(path), text_col="text", label_col="label")], language="en", progress=False)
    duplicates = snapshot.meta.generator["composition"]["duplicates"]
    assert duplicates["dropped"] == 2
    assert duplicates["both_labels"] == {"texts": 1, "kept_label": 1, "examples": ["free casino bonus now"]}
    assert snapshot.texts[int(np.flatnonzero(snapshot.labels == 1)[0])] == "free casino bonus now"


def test_everyday_scale_shapes_only_the_synthetic_background(tmp_path):
    """``everyday_scale=0`` composes the synthetic normals as they were before everyday words (to measure
    what the words change); the default carries them at their measured rates; a real background refuses it."""
    from qx_env.corpus.synth import everyday_words

    rows = [{"text": f"加微信买高仿证件{i}号，包过", "label": 1} for i in range(20)]
    rows += [{"text": f"今天的快递到了，第{i}次买，质量不错", "label": 0} for i in range(50)]
    pd.DataFrame(rows).to_csv(tmp_path / "zh.csv", index=False)
    source = Source(path=str(tmp_path / "zh.csv"), text_col="text", label_col="label")
    words = [entry["word"] for entry in everyday_words("zh")]
    carried = {}
    for scale in (0.0, 1.0):
        snapshot = compose([source], language="zh", toxic_share=0.0105, background="synth", background_items=1900,
                           everyday_scale=scale, progress=False)
        synthetic = snapshot.items.filter(pc.starts_with(snapshot.items.column("source"), "qx_env.corpus.synth"))
        texts = synthetic.column("text").to_pylist()
        carried[scale] = sum(sum(word in text for word in words) for text in texts) / len(texts)
        assert snapshot.meta.generator["composition"]["background"]["synthetic"]["config"]["everyday_scale"] == scale
    assert carried[0.0] < 0.8 * carried[1.0]
    with pytest.raises(CorpusSourceError, match="--everyday-scale shapes the synthetic background"):
        compose([source], language="zh", background="real", everyday_scale=0.0, progress=False)
    with pytest.raises(CorpusSourceError, match="--everyday-scale must be a number >= 0"):
        compose([source], language="zh", background="synth", background_items=100, everyday_scale=-1.0,
                progress=False)
