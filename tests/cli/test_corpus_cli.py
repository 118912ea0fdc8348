"""``qx corpus``: the command line makes, describes and refuses snapshots as documented."""

from __future__ import annotations

import json

from qx_env import Snapshot
from qx_env.cli import main


def test_synth_then_info(tmp_path, capsys):
    out = tmp_path / "snap"
    assert main(["corpus", "synth", "--lang", "zh", "--items", "600", "--toxic-share", "0.03", "--seed", "3", "--out", str(out), "--quiet"]) == 0
    assert (out / "items.parquet").is_file()
    assert main(["corpus", "info", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "items 600" in printed and "toxic 18" in printed and "reports" in printed


def test_errors_are_one_line_not_tracebacks(tmp_path, capsys):
    assert main(["corpus", "info", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qx: error:") and "does not exist" in err and "Traceback" not in err
    out = tmp_path / "snap"
    args = ["corpus", "synth", "--items", "100", "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert main(args) == 2
    assert "already exists; pass overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_compose_generic_input(tmp_path, capsys):
    source = tmp_path / "msgs.tsv"
    source.write_text("label\ttext\n" + "".join(f"{i % 4 == 0:d}\tmessage {i} {'win cash now' if i % 4 == 0 else 'see you'}\n"
                                               for i in range(40)))
    out = tmp_path / "composed"
    assert main(["corpus", "compose", "--input", str(source), "--lang", "en", "--out", str(out), "--quiet"]) == 0
    assert main(["corpus", "compose", "--input", str(source), "--lang", "en", "--text-col", "body",
                 "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert "no column 'body'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def _planted_tsv(tmp_path):
    source = tmp_path / "msgs.tsv"
    rows = [f"1\twin cash now prize claim {i % 3} call 0800 {i % 3}{i:02d}" for i in range(12)]
    rows += [f"0\tsee you at {i} o'clock, bring the {chr(97 + i % 26)}{i} book" for i in range(400)]
    source.write_text("label\ttext\n" + "\n".join(rows) + "\n")
    return source


def test_compose_plants_at_a_share_and_prints_the_composition(tmp_path, capsys):
    source = _planted_tsv(tmp_path)
    out = tmp_path / "planted"
    assert main(["corpus", "compose", "--input", str(source), "--lang", "en", "--toxic-share", "0.01", "--cluster-size", "4",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "toxic share 0.990% (asked: 1.000%)  items 404  background 400" in printed
    assert "toxic items kept 4 of 12 (dropped 8 to reach the share)" in printed
    assert "background real: msgs.tsv 400" in printed and "duplicates dropped 0" in printed
    meta = json.loads((out / "meta.json").read_text())
    assert meta["generator"]["composition"]["toxic"]["items"] == {"available": 12, "kept": 4, "dropped": 8}


def test_compose_bad_input_is_one_clear_line(tmp_path, capsys):
    source = _planted_tsv(tmp_path)
    base = ["corpus", "compose", "--input", str(source), "--lang", "en", "--quiet"]
    cases = [
        (["--cluster-size", "0"], "--cluster-size must be a whole number of at least 1"),
        (["--cluster-size", "-2"], "got -2"),
        (["--seed", "-1"], "--seed must be a whole number in [0, 4294967295], got -1"),
        (["--seed", "4294967296"], "--seed must be a whole number in [0, 4294967295], got 4294967296"),
        (["--toxic-share", "0.5"], "12 toxic items are too few for --toxic-share 0.5 over a background of 400"),
        (["--toxic-values", "1", "--normal-values", "2"],
         "label column 'label': 400 of 412 rows hold values in neither --toxic-values ['1'] nor --normal-values ['2']"),
        (["--encoding", "utf-16"], "msgs.tsv: cannot decode it as utf-16"),
    ]
    for number, (extra, message) in enumerate(cases):
        out = tmp_path / f"bad{number}"
        assert main([*base, *extra, "--out", str(out)]) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("qx: error:") and message in err and "Traceback" not in err, (extra, err)
        assert not out.exists()
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("text,label\n博彩网站注册送彩金,1\n好评质量不错,0\n".encode("gbk"))
    assert main(["corpus", "compose", "--input", str(gbk), "--lang", "zh", "--quiet", "--out", str(tmp_path / "g")]) == 2
    assert "e.g. --encoding gbk" in capsys.readouterr().err
    assert main(["corpus", "compose", "--input", str(gbk), "--lang", "zh", "--quiet", "--encoding", "gbk",
                 "--out", str(tmp_path / "g")]) == 0


def test_synth_checks_out_before_generating(tmp_path, capsys):
    taken = tmp_path / "notes"
    taken.mkdir()
    (taken / "thesis.txt").write_text("precious")
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out, message in ((taken, "is not empty and is not a snapshot"), (afile, "exists and is not a directory"),
                         (afile / "sub", "is not a directory")):
        assert main(["corpus", "synth", "--items", "100", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and "synth items" not in err, err  # refused before the progress bar
    assert (taken / "thesis.txt").read_text() == "precious"
    assert main(["corpus", "compose", "--input", str(afile), "--lang", "en", "--out", str(taken)]) == 2
    assert "is not empty and is not a snapshot" in capsys.readouterr().err


def test_synth_seed_and_split_errors_are_one_line(tmp_path, capsys):
    assert main(["corpus", "synth", "--items", "100", "--seed", "-1", "--quiet", "--out", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err.strip() == "qx: error: --seed must be a whole number of at least 0, got -1"
    assert main(["corpus", "synth", "--items", "100", "--splits", "0.5,0.5,0.5", "--quiet",
                 "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "must be three non-negative numbers summing to 1, got 0.5, 0.5, 0.5" in err and "(" not in err.split("got")[1]


def _compose(tmp_path, *extra, out="out"):
    return main(["corpus", "compose", "--lang", "en", *extra, "--out", str(tmp_path / out)])


def test_encoding_works_for_every_text_format(tmp_path, capsys):
    zh = ("--lang", "zh")  # the check by script refuses Chinese text under --lang en
    rows = [("博彩网站注册送彩金 加微信", 1), ("博彩网站注册送彩金 加企鹅", 1), ("好评质量不错", 0), ("物流很快", 0)]
    files = {
        "g.tsv": "text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows),
        "g.jsonl": "".join(json.dumps({"text": t, "label": y}, ensure_ascii=False) + "\n" for t, y in rows),
    }
    for number, (name, text) in enumerate(files.items()):
        (tmp_path / name).write_bytes(text.encode("gbk"))
        assert _compose(tmp_path, *zh, "--input", str(tmp_path / name), "--quiet", out=f"u{number}") == 2
        assert "e.g. --encoding gbk" in capsys.readouterr().err
        assert _compose(tmp_path, *zh, "--input", str(tmp_path / name), "--encoding", "gbk", "--quiet",
                        out=f"g{number}") == 0
    lines = tmp_path / "lines"
    lines.mkdir()
    (lines / "spam.txt").write_bytes("博彩网站注册送彩金 加微信\n博彩网站注册送彩金 加企鹅\n".encode("gbk"))
    (lines / "ham.txt").write_bytes("好评质量不错\n物流很快\n".encode("gbk"))
    assert _compose(tmp_path, *zh, "--input", str(lines / "spam.txt"), "--input", str(lines / "ham.txt"),
                    "--label-from-filename", "--toxic-values", "spam", "--encoding", "gbk", "--quiet", out="l") == 0
    items = Snapshot.load(tmp_path / "l").items.to_pandas()
    assert sorted(items.loc[items["label"] == 1, "text"]) == ["博彩网站注册送彩金 加企鹅", "博彩网站注册送彩金 加微信"]


def test_bad_lines_are_refused_or_skipped_and_reported(tmp_path, capsys):
    source = tmp_path / "msgs.csv"
    good = [f"win cash now prize claim {i},1" for i in range(3)] + [f"see you at {i} tomorrow,0" for i in range(20)]
    good.insert(5, "see you, at noon,0")  # an unquoted comma: line 7
    good.insert(12, "free, cash, now,1")  # line 14
    source.write_text("text,label\n" + "\n".join(good) + "\n")
    assert _compose(tmp_path, "--input", str(source), "--quiet", out="e") == 2
    err = capsys.readouterr().err
    assert "Expected 2 fields in line 7, saw 3" in err and "pass --bad-lines skip" in err
    assert _compose(tmp_path, "--input", str(source), "--bad-lines", "skip", out="s") == 0
    assert "input msgs.csv: 23 rows kept; empty texts dropped 0; malformed lines skipped 2 (lines 7, 14)" \
        in capsys.readouterr().out
    meta = json.loads((tmp_path / "s" / "meta.json").read_text())
    assert meta["sources"][0]["bad_lines"] == {"count": 2, "first": [7, 14]}
    jsonl = tmp_path / "msgs.jsonl"
    jsonl.write_text('{"text": "win cash now 1", "label": 1}\n{"text": "oops\n{"text": "hi there", "label": 0}\n')
    assert _compose(tmp_path, "--input", str(jsonl), "--quiet", out="j") == 2
    assert "msgs.jsonl: line 2 is not a JSON object" in capsys.readouterr().err
    assert _compose(tmp_path, "--input", str(jsonl), "--bad-lines", "skip", "--quiet", out="j") == 0
    assert json.loads((tmp_path / "j" / "meta.json").read_text())["sources"][0]["bad_lines"] == {"count": 1, "first": [2]}


def test_each_input_can_have_its_own_label_mapping(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("text,label\nwin cash now prize 1,2\nwin cash now prize 2,2\nhello friend,1\n")  # 2 toxic, 1 normal
    b.write_text("text,label\nfree money click link 1,1\nfree money click link 2,1\nsee you at noon,0\n")
    assert _compose(tmp_path, "--input", f"{a}:toxic=2:normal=1", "--input", str(b), "--quiet", out="m") == 0
    snapshot = Snapshot.load(tmp_path / "m")
    labels = dict(zip(snapshot.texts, snapshot.labels.tolist()))
    assert labels == {"win cash now prize 1": 1, "win cash now prize 2": 1, "hello friend": 0,
                      "free money click link 1": 1, "free money click link 2": 1, "see you at noon": 0}
    for spec, message in ((f"{a}:toxc=2", "unknown per-input key 'toxc'"), (f"{a}:toxic=", "toxic= needs at least one"),
                          (f"{a}:toxic=2:toxic=3", "toxic= is given twice")):
        try:
            _compose(tmp_path, "--input", spec, "--quiet", out="x")
        except SystemExit as exit_:
            assert exit_.code == 2
        assert message in capsys.readouterr().err
    assert _compose(tmp_path, "--input", f"{a}:toxic=2:normal=2", "--quiet", out="x") == 2
    assert "value(s) ['2'] are given as both toxic and normal" in capsys.readouterr().err


def test_data_decisions_are_printed_and_kept_in_meta(tmp_path, capsys):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("text,label\nfree casino bonus now,1\nfree casino bonus today,1\nnice chair,0\nnice chair,0\n"
                     ",0\n  ,0\nsuspicious offer,spam?\nold lamp,0\n")
    second.write_text("text,label\nfree casino bonus now,0\nwooden desk,0\n")
    assert _compose(tmp_path, "--input", str(first), "--input", str(second), "--toxic-values", "1", out="d") == 0
    out = capsys.readouterr().out
    assert "input first.csv: 6 rows kept; empty texts dropped 2" in out
    assert "'spam?' 1 -> normal (not in toxic_values)" in out
    assert "duplicates dropped 2 (first.csv 1, second.csv 1); texts with both labels 1 (rule: kept as toxic" in out
    meta = json.loads((tmp_path / "d" / "meta.json").read_text())
    assert meta["sources"][0]["empty_rows"] == 2
    assert meta["sources"][0]["label_map"]["spam?"] == {"rows": 1, "label": 0, "rule": "not in toxic_values"}
    assert meta["generator"]["composition"]["inputs"]["first.csv"]["empty_rows"] == 2
    assert _compose(tmp_path, "--input", str(first), "--toxic-values", "9", "--quiet", out="n") == 2
    err = capsys.readouterr().err
    assert "no toxic item (label 1)" in err and "Label values seen: first.csv: '0' 5 -> normal, '1' 2 -> normal" in err \
        and "'spam?' 1 -> normal" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("body,text,label\nwin cash,,1\nhello,,0\n")
    assert _compose(tmp_path, "--input", str(empty), "--quiet", out="n") == 2
    assert "empty.csv: text column 'text' is empty in all 2 rows; is --text-col right?" in capsys.readouterr().err


def test_toxic_share_names_the_clusters_it_dropped(tmp_path, capsys):
    source = tmp_path / "msgs.tsv"
    rows = [f"1\twin cash now prize claim call 0800 {i % 3}{i:02d}" for i in range(12)]
    rows += [f"1\tcheap pills no prescription pharmacy {i:02d} order" for i in range(12)]
    rows += [f"0\tsee you at {i} o'clock, bring the {chr(97 + i % 26)}{i} book" for i in range(600)]
    source.write_text("label\ttext\n" + "\n".join(rows) + "\n")
    assert _compose(tmp_path, "--input", str(source), "--toxic-share", "0.02", "--cluster-size", "12", out="p") == 0
    out = capsys.readouterr().out
    composition = json.loads((tmp_path / "p" / "meta.json").read_text())["generator"]["composition"]
    dropped = composition["toxic"]["dropped_clusters"]
    assert dropped and all(size > 1 for size in dropped.values())
    assert "  clusters dropped: " + ", ".join(f"{k} ({v})" for k, v in sorted(dropped.items())) in out


def test_smallest_synth_is_usable_and_info_names_empty_splits(tmp_path, capsys):
    out = tmp_path / "tiny"
    assert main(["corpus", "synth", "--items", "10", "--quiet", "--out", str(out)]) == 0
    assert main(["corpus", "info", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "reports 1 (train 1)" in printed and "no reports in dev and test: too few toxic clusters" in printed
