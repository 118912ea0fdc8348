"""``qx compare``: two ``qx eval --json`` runs paired on the same reports, and refused when they are not."""

from __future__ import annotations

import json

import pytest

from qx_env.cli import main


@pytest.fixture(scope="module")
def runs(indexed_snapshot, tmp_path_factory):
    """Two policies' eval results on every report of the indexed snapshot, and one at another k."""
    out = tmp_path_factory.mktemp("runs")
    argv = ["eval", str(indexed_snapshot.path), "--split", "train,dev,test", "--json"]
    paths = {}
    for name, extra in {"ngram": ["--policy", "ngram"], "tfidf": ["--policy", "tfidf"],
                        "tfidf-k5": ["--policy", "tfidf", "-k", "5"]}.items():
        import contextlib
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main([*argv, *extra]) == 0
        paths[name] = out / f"{name}.json"
        paths[name].write_text(buffer.getvalue())
    return paths


def test_compare_gives_the_paired_difference_of_the_two_rows(runs, capsys):
    assert main(["compare", str(runs["ngram"]), str(runs["tfidf"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    a, b = (json.loads(runs[n].read_text()) for n in ("ngram", "tfidf"))
    hit_rate, precision = result["comparisons"]
    assert hit_rate["rate"] == "query_hit_rate" and precision["rate"] == "precision"
    assert hit_rate["difference"] == pytest.approx(a["query_hit_rate"] - b["query_hit_rate"], abs=1e-4)
    assert hit_rate["low"] <= hit_rate["difference"] <= hit_rate["high"]
    assert 0 < hit_rate["p_value"] <= 1 and hit_rate["p_adjusted"] >= hit_rate["p_value"]
    assert hit_rate["campaigns"] == len(set(a["per_report"]["campaign"])) and hit_rate["reports"] == a["reports"]
    assert main(["compare", str(runs["ngram"]), str(runs["tfidf"])]) == 0
    table = capsys.readouterr().out
    assert "| query_hit_rate |" in table and "campaigns" in table and "minimal detectable difference" in table


def test_a_run_against_itself_differs_by_nothing(runs, capsys):
    assert main(["compare", str(runs["tfidf"]), str(runs["tfidf"]), "--json", "--rates", "query_hit_rate"]) == 0
    (comparison,) = json.loads(capsys.readouterr().out)["comparisons"]
    assert comparison["difference"] == 0 and comparison["p_value"] == 1.0


def test_mismatched_or_missing_runs_are_refused_in_one_line(runs, tmp_path, capsys):
    assert main(["compare", str(runs["tfidf"]), str(runs["tfidf-k5"])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "their k differs (100 against 5)" in err
    assert main(["compare", str(runs["tfidf"]), str(tmp_path / "none.json")]) == 2
    assert "no such results file" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["compare", str(runs["tfidf"]), str(tmp_path / "bad.json")]) == 2
    assert "bad.json: not JSON" in capsys.readouterr().err
    row = json.loads(runs["tfidf"].read_text())
    del row["per_report"]
    (tmp_path / "old.json").write_text(json.dumps(row))
    assert main(["compare", str(runs["tfidf"]), str(tmp_path / "old.json")]) == 2
    assert "no per-report figures" in capsys.readouterr().err
    assert main(["compare", str(runs["tfidf"]), str(runs["ngram"]), "--rates", "recall"]) == 2
    assert "unknown rate 'recall'" in capsys.readouterr().err
