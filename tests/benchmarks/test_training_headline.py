"""The training headline bench end to end on a toy snapshot: SFT, DPO at both taus, every seed."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from qx_env.cli import main

#: 2,000 items at 3% toxic, half reported: 30 reports, enough for pairs at both taus in a minute.
TOY = ["--items", "2000", "--toxic-share", "0.03", "--report-share", "0.5", "--sft-epochs", "0.05",
       "--dpo-epochs", "0.05", "--candidates", "2"]


@pytest.fixture(scope="module")
def headline(tmp_path_factory):
    """The headline on the toy world for seeds 0 and 1; its directory (snapshot, baselines' feedback, tiny
    model) is reused by the test that trains a given model."""
    out = tmp_path_factory.mktemp("headline") / "run"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["bench", "training", *TOY, "--seeds", "0,1", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text()), printed.getvalue()


def test_headline_reports_sft_and_both_taus_for_every_seed(headline):
    out, results, printed = headline
    assert [run["seed"] for run in results["runs"]] == [0, 1]
    for run in results["runs"]:
        for key in ("sft", "dpo_tau0.05", "dpo_tau0.01"):
            row = run[key]
            assert {"query_hit_rate", "hit@100", "distinct_queries"} <= set(row)
            # the figures are one another's: the rate is effective / queries; distinct <= all hits <= exposed
            assert row["query_hit_rate"] == round(row["effective_queries"] / max(row["queries"], 1), 4)
            assert row["effective_queries"] <= row["queries"]
            assert row["distinct_hits"] <= row["hit@100"] <= row["exposed"] <= 100 * row["queries"]
            assert row["precision"] == round(row["hit@100"] / max(row["exposed"], 1), 4)
        assert run["dpo_tau0.05"]["pairs"] > 0
    # paired comparisons on the test reports: per seed and over both seeds, three each, Holm across them
    made = results["comparisons"]
    assert [(c["seeds"], c["compared"], c["against"]) for c in made][-3:] == [
        ("all", "dpo_tau0.05", "sft"), ("all", "dpo_tau0.01", "sft"), ("all", "dpo_tau0.05", "dpo_tau0.01")]
    assert len(made) == 9 and all(c["p_adjusted"] >= c["p_value"] for c in made)
    run = results["runs"][0]
    first = made[0]
    assert first["difference"] == pytest.approx(
        run["dpo_tau0.05"]["query_hit_rate"] - run["sft"]["query_hit_rate"], abs=1e-3)
    assert first["reports"] == len(run["sft"]["per_report"]["report_id"])
    summary = (out / "summary.md").read_text()
    assert "| all | dpo_tau0.05 minus sft |" in summary
    assert summary.count("| SFT | ") == 3 and "| SFT+DPO tau 0.01 | mean |" in summary  # two seeds and a mean
    assert "relative" in printed
    assert (out / "sft_vs_dpo.png").stat().st_size > 1000
    # made once: the snapshot, the baselines' feedback and the tiny model are shared by the seeds
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["feedback-baselines", "seed0", "seed1", "snapshot",
                                                                   "tiny"]


def test_headline_trains_a_given_local_model(headline, tiny_model):
    """A given model is what a new seed's SFT starts from (the world and the baselines' feedback made once are
    reused, the tiny model of the earlier run is not)."""
    out, _, _ = headline
    assert main(["bench", "training", *TOY, "--seeds", "2", "--base", str(tiny_model), "--out", str(out)]) == 0
    card = json.loads((out / "seed2" / "sft" / "run_card.json").read_text())
    assert card["args"]["base"] == str(tiny_model)
    assert [run["seed"] for run in json.loads((out / "results.json").read_text())["runs"]] == [2]


def test_headline_names_an_unknown_pair_source(tmp_path, capsys):
    assert main(["bench", "training", "--pairs-from", "baselines", "--out", str(tmp_path / "headline")]) == 2
    assert "--pairs-from must be one of model, model+baselines" in capsys.readouterr().err
    assert not (tmp_path / "headline").exists()


def test_headline_needs_a_seed_and_whole_number_seeds(tmp_path, capsys):
    assert main(["bench", "training", "--seeds", "", "--out", str(tmp_path / "headline")]) == 2
    assert "give at least one training seed" in capsys.readouterr().err
    assert not (tmp_path / "headline").exists()
    with pytest.raises(SystemExit):
        main(["bench", "training", "--seeds", "0,one", "--out", str(tmp_path / "headline")])
    assert "argument --seeds: bad element 'one' in '0,one': each must be an integer" in capsys.readouterr().err
