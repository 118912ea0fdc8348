"""``qx corpus``: the command line makes, describes and refuses snapshots as documented."""

from __future__ import annotations

import json

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
        (["--seed", "-1"], "--seed must be a non-negative integer, got -1"),
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
