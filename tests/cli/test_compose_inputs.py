"""``qx corpus compose --input``: per-file options, directories and patterns, the check by script."""

from __future__ import annotations

import json

from qx_env import Snapshot
from qx_env.cli import main

TOXIC_ZH = ["加微信领取博彩彩金日赚三千", "加微信领取博彩彩金日赚五千", "刷单兼职日结加企鹅", "刷单兼职日结加微信"]
NORMAL_ZH = ["衣服质量很好穿着舒服", "物流很快包装完好", "酒店干净服务热情", "水果新鲜下次还买", "书的内容很精彩"]


def _compose(tmp_path, *extra, out="out", lang="zh"):
    return main(["corpus", "compose", "--lang", lang, *extra, "--out", str(tmp_path / out)])


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("qx: error:") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_each_input_can_have_its_own_encoding(tmp_path, capsys):
    telecom, reviews = tmp_path / "telecom.csv", tmp_path / "reviews.csv"
    telecom.write_bytes(("text,label\n" + "".join(f"{t},1\n" for t in TOXIC_ZH)).encode("gbk"))
    reviews.write_text("text,label\n" + "".join(f"{t},0\n" for t in NORMAL_ZH), encoding="utf-8")
    assert _compose(tmp_path, "--input", str(telecom), "--input", str(reviews), "--quiet", out="a") == 2
    err = _error(capsys)
    assert "telecom.csv: cannot decode it as utf-8" in err and "--input FILE:encoding=gbk sets it for that file" in err
    assert _compose(tmp_path, "--input", str(telecom), "--input", str(reviews), "--encoding", "gbk",
                    "--quiet", out="b") == 2  # one encoding for both files fails on the other
    assert "reviews.csv: cannot decode it as gbk" in _error(capsys)
    assert _compose(tmp_path, "--input", f"{telecom}:encoding=gbk", "--input", str(reviews), "--quiet", out="c") == 0
    snapshot = Snapshot.load(tmp_path / "c")
    assert sorted(t for t, y in zip(snapshot.texts, snapshot.labels) if y == 1) == sorted(TOXIC_ZH)
    try:
        _compose(tmp_path, "--input", f"{telecom}:enc=gbk", "--quiet", out="d")
    except SystemExit as exit_:
        assert exit_.code == 2
    err = capsys.readouterr().err
    assert "unknown per-input key 'enc'; after the file name give :toxic=V,V, :normal=V,V, :keep=V,V and/or " \
           ":encoding=NAME" in err


def test_keep_leaves_a_background_file_only_its_normal_rows(tmp_path, capsys):
    toxic, background = tmp_path / "fraud.csv", tmp_path / "sms.csv"
    toxic.write_text("text,label\n" + "".join(f"{t},1\n" for t in TOXIC_ZH))
    # the background's own spam (label 1) is not the violation studied: keep only its normal rows
    background.write_text("text,label\n" + "".join(f"{t},0\n" for t in NORMAL_ZH)
                          + "恭喜中奖请点击链接领取,1\n贷款秒批无抵押,1\n")
    assert _compose(tmp_path, "--input", str(toxic), "--input", f"{background}:keep=0", out="k") == 0
    out = capsys.readouterr().out
    snapshot = Snapshot.load(tmp_path / "k")
    assert sorted(t for t, y in zip(snapshot.texts, snapshot.labels) if y == 1) == sorted(TOXIC_ZH)
    assert sorted(t for t, y in zip(snapshot.texts, snapshot.labels) if y == 0) == sorted(NORMAL_ZH)
    assert "input sms.csv: 5 rows kept; empty texts dropped 0; rows left out by the filter 2 (kept: label in ['0'])" \
        in out
    meta = json.loads((tmp_path / "k" / "meta.json").read_text())
    assert meta["sources"][1]["filtered_rows"] == {"rule": "label in ['0']", "dropped": 2}
    # normal=0 instead maps the other rows to toxic: the background's spam would be planted
    assert _compose(tmp_path, "--input", str(toxic), "--input", f"{background}:normal=0", "--quiet", out="n") == 0
    assert int(Snapshot.load(tmp_path / "n").labels.sum()) == len(TOXIC_ZH) + 2


def test_a_directory_or_a_pattern_names_its_data_files(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "fraud.csv").write_text("text,label\n" + "".join(f"{t},1\n" for t in TOXIC_ZH))
    (data / "reviews.csv").write_text("text,label\n" + "".join(f"{t},0\n" for t in NORMAL_ZH))
    (data / "notes.md").write_text("# not data\n")
    assert _compose(tmp_path, "--input", str(data), out="d") == 0
    out = capsys.readouterr().out
    assert "input fraud.csv: 4 rows kept" in out and "input reviews.csv: 5 rows kept" in out and "notes" not in out
    assert _compose(tmp_path, "--input", str(data / "*.csv"), "--quiet", out="g") == 0
    assert len(Snapshot.load(tmp_path / "g")) == 9
    assert _compose(tmp_path, "--input", str(data / "*.tsv"), "--quiet", out="x") == 2
    assert f"--input '{data / '*.tsv'}' matches no file" in _error(capsys)
    (tmp_path / "empty").mkdir()
    assert _compose(tmp_path, "--input", str(tmp_path / "empty"), "--quiet", out="x") == 2
    assert "the directory holds no data file" in _error(capsys)
    assert _compose(tmp_path, "--input", str(data), "--input", str(data / "fraud.csv"), "--quiet", out="x") == 2
    assert "fraud.csv is named twice" in _error(capsys)
    # files of one name in two folders are told apart by their folder
    other = tmp_path / "other"
    other.mkdir()
    (other / "fraud.csv").write_text("text,label\n刷单返利联系客服,1\n天气真好,0\n")
    assert _compose(tmp_path, "--input", str(tmp_path / "*" / "fraud.csv"), "--input", str(data / "reviews.csv"),
                    out="n") == 0
    out = capsys.readouterr().out
    assert "input data/fraud.csv: 4 rows kept" in out and "input other/fraud.csv: 2 rows kept" in out


def test_the_language_is_checked_by_script(tmp_path, capsys):
    chinese = tmp_path / "zh.csv"
    chinese.write_text("text,label\n" + "".join(f"{t},1\n" for t in TOXIC_ZH) + "".join(f"{t},0\n" for t in NORMAL_ZH))
    assert _compose(tmp_path, "--input", str(chinese), "--quiet", lang="en") == 2
    assert "zh.csv: 100.0% of its letters are Chinese (Han) characters, but --lang is en (refused above 30%); " \
           "pass --lang zh" in _error(capsys)
    latin = tmp_path / "en.csv"
    latin.write_text("text,label\nwin cash now call 0800,1\nwin cash today call 0900,1\nsee you at noon,0\n"
                     "nice chair for sale,0\n")
    assert _compose(tmp_path, "--input", str(latin), "--quiet", lang="zh") == 2
    assert "en.csv: only 0.0% of its letters are Chinese (Han) characters, but --lang is zh (refused below 30%); " \
           "pass --lang en" in _error(capsys)
    assert _compose(tmp_path, "--input", str(chinese), "--quiet", out="zh") == 0
    assert _compose(tmp_path, "--input", str(latin), "--quiet", lang="en", out="en") == 0
