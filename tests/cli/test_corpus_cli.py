"""``qx corpus``: the command line makes, describes and refuses snapshots as documented."""

from __future__ import annotations

from qx_env.cli import main


def test_synth_then_info(tmp_path, capsys):
    out = tmp_path / "snap"
    assert main(["corpus", "synth", "--lang", "zh", "--items", "600", "--seed", "3", "--out", str(out), "--quiet"]) == 0
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
