"""Eq. 1, eq. 2 and eq. 4 on hand-made feedback."""

from __future__ import annotations

import pyarrow as pa
import pytest

from qx_env import QxError
from qx_env.parsers import parse_answer
from training import FEEDBACK_SCHEMA, pair_rows, qualified, read_jsonl, sft_rows, write_jsonl

TEXTS = ["出售红腹水虎小苗", "红腹水虎一对", "毕业证复刻加急", "普通的书"]
LABELS = [1, 1, 1, 0]
CLUSTERS = ["fish", "fish", "diploma", None]


@pytest.fixture(scope="module")
def snapshot(snapshot_factory):
    return snapshot_factory(TEXTS, LABELS, clusters=CLUSTERS, reported=[0, 1, 2])


def _feedback(rows):
    keys = [f.name for f in FEEDBACK_SCHEMA]
    return pa.Table.from_pylist([dict(zip(keys, r)) for r in rows], schema=FEEDBACK_SCHEMA)


FEEDBACK = _feedback([
    # report, policy, answer, query, exposed, toxic, ratio, modes
    ("r0", "annotation", 0, "红腹水虎", 2, 2, 1.0, "keyword"),
    ("r0", "annotation", 0, "红", 50, 1, 0.02, "keyword"),  # too short for eq. 1
    ("r0", "annotation", 0, "出售红腹水虎小苗同城自提价格可议", 1, 1, 1.0, "keyword"),  # too long
    ("r0", "tfidf", 0, "小苗", 40, 1, 0.025, "keyword"),
    ("r1", "annotation", 0, "一对", 0, 0, 0.0, ""),  # no exposure
    ("r1", "annotation", 0, "水虎", 3, 2, 0.667, "keyword"),
    ("r1", "tfidf", 0, "水虎", 3, 2, 0.667, "keyword"),  # same answer as the annotation: never paired with it
    ("r1", "ngram", 0, "一对", 0, 0, 0.0, ""),
    ("r2", "annotation", 0, "毕业证复刻", 1, 1, 1.0, "keyword"),
])


def test_eq1_length_and_exposure():
    assert qualified("红腹水虎", 2, "zh") and not qualified("红", 50, "zh") and not qualified("红腹水虎", 0, "zh")
    assert not qualified("一二三四五六七八九十一", 3, "zh")
    assert qualified("piranha", 3, "en") and not qualified("a very long english phrase", 3, "en")


def test_sft_rows_single_and_long_context(snapshot):
    rows = sft_rows(FEEDBACK, snapshot)
    single = {tuple(r["report_ids"]): r for r in rows if r["kind"] == "single"}
    assert set(single) == {("r0",), ("r1",), ("r2",)}
    assert parse_answer(single[("r0",)]["completion"][0]["content"]).queries == ("红腹水虎",)
    assert parse_answer(single[("r1",)]["completion"][0]["content"]).queries == ("水虎",)
    assert single[("r0",)]["prompt"][1]["content"].endswith(TEXTS[0])
    long = [r for r in rows if r["kind"] == "long"]
    assert [r["report_ids"] for r in long] == [["r0", "r1"]]  # the fish cluster; diploma has one report
    assert long[0]["prompt"][1]["content"].endswith(TEXTS[0] + "，" + TEXTS[1])
    assert parse_answer(long[0]["completion"][0]["content"]).queries == ("红腹水虎", "水虎")


def test_pairs_follow_tau_and_margin(snapshot):
    rows = pair_rows(FEEDBACK, snapshot, tau=0.05, long_context=False)
    by_report = {}
    for row in rows:
        by_report.setdefault(row["report_ids"][0], []).append(row)
    # r0: annotation ratio (2+1+1)/(2+50+1) = 0.075 >= tau, tfidf 0.025 < tau
    (r0,) = by_report["r0"]
    assert (r0["chosen_policy"], r0["rejected_policy"]) == ("annotation", "tfidf")
    assert r0["chosen_ratio"] == pytest.approx(4 / 53, abs=1e-4) and r0["margin"] > 0
    # r1: annotation (2/3) and tfidf (2/3) chosen; ngram rejected; tfidf's answer differs from annotation's
    assert {(r["chosen_policy"], r["rejected_policy"]) for r in by_report["r1"]} == {("annotation", "ngram"),
                                                                                      ("tfidf", "ngram")}
    assert "r2" not in by_report  # nothing below tau
    assert all(r["chosen"] != r["rejected"] for r in rows)
    strict = pair_rows(FEEDBACK, snapshot, tau=0.5, long_context=False)
    assert {r["report_ids"][0] for r in strict} == {"r1"}  # r0's best answer (0.075) is below 0.5 now
    with pytest.raises(QxError, match="tau must be in"):
        pair_rows(FEEDBACK, snapshot, tau=0)


def test_long_context_pairs(snapshot):
    rows = pair_rows(FEEDBACK, snapshot, tau=0.05)
    long = [r for r in rows if len(r["report_ids"]) == 2]
    assert long and all(r["margin"] >= 0 for r in long)


def test_jsonl_round_trip_and_errors(tmp_path):
    path = write_jsonl([{"prompt": "p", "chosen": "c", "rejected": "r"}], tmp_path / "pairs.jsonl")
    assert read_jsonl(path, ("prompt", "chosen", "rejected"))[0]["chosen"] == "c"
    assert not list(tmp_path.glob(".*tmp"))
    with pytest.raises(QxError, match="missing rejected"):
        read_jsonl(write_jsonl([{"prompt": "p", "chosen": "c"}], tmp_path / "bad.jsonl"), ("prompt", "chosen", "rejected"))
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(QxError, match="holds no rows"):
        read_jsonl(tmp_path / "empty.jsonl", ("prompt",))
    (tmp_path / "broken.jsonl").write_text('{"prompt": 1}\n{oops\n')
    with pytest.raises(QxError, match="broken.jsonl:2: not JSON"):
        read_jsonl(tmp_path / "broken.jsonl", ("prompt",))
