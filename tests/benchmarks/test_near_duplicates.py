"""The near-duplicate benchmark: synthetic rows with campaign purity, real rows, table and plot."""

from __future__ import annotations

import json

from benchmarks import near_duplicates


def test_duplicate_structure_counts_linked_texts_and_campaign_pairs():
    texts = ["高仿证件办理加微wx88000001第1批", "高仿证件办理加微wx88000001第2批", "二手自行车成色新同城自提",
             "二手自行车成色新同城自提!", "旧书一本便宜出"]
    row = near_duplicates.duplicate_structure(texts, 0.5, groups=["c0", "c0", None, None, None])
    assert row == {"texts": 5, "with_duplicate": 0.8, "pairs_per_text": 0.4, "pairs_in_one_campaign": 0.5}


def test_benchmark_writes_rows_for_both_roles_table_and_plot(tmp_path, data_dir):
    out = tmp_path / "dup"
    near_duplicates.main(near_duplicates.Args(items=(3000,), real=False, out=str(out)))
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [r["role"] for r in rows] == ["toxic", "benign"]
    assert all(0 <= r["with_duplicate"] <= 1 and r["texts"] > 0 for r in rows)
    assert rows[0]["texts"] + rows[1]["texts"] == 3000
    assert "with a near-duplicate" in (out / "table.md").read_text()
    assert (out / "near_duplicates.png").stat().st_size > 10_000
    real = near_duplicates.real_rows(data_dir, 0.5)
    assert {r["role"] for r in real} == {"toxic", "benign"} and len(real) == 5
