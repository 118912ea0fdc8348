"""The demo pipeline end to end on a small snapshot with minimal training: index.md and its plots."""

from __future__ import annotations

import json
import re

import pytest

from qx_env.cli import main


def test_demo_writes_the_report_and_its_plots(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["bench", "demo", str(tmp_path / "snapshot"), "--items", "2000", "--toxic-share", "0.06",
                 "--seed", "11", "--baselines", "annotation,tfidf", "--modes", "keyword,hybrid",
                 "--sft-epochs", "0.05", "--dpo-epochs", "0.05", "--candidates", "2", "--out", str(out)]) == 0
    index = out / "index.md"
    text = index.read_text()
    for heading in ("## Stages", "## Policies in every retrieval mode (Table 5)", "## Training the tiny model",
                    "## A simulated day online (Table 7)", "## Reproduce"):
        assert heading in text
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert linked[0] == "modes.png" and text.index("modes.png") < text.index("## Stages")  # the picture first
    assert sorted(linked) == ["modes.png", "online.png", "training.png"]
    for name in linked:
        assert (out / name).stat().st_size > 1000
    results = json.loads((out / "results.json").read_text())
    assert len(results["stages_s"]) == 8  # every stage before the report itself
    seconds = results["stages_s"]
    assert f"| total | {sum(seconds.values()):.1f} |" in text and f"Total time {sum(seconds.values()) / 60:.1f} min" in text
    grid = results["grid"]
    policies = ["annotation", "tfidf", "tiny SFT", "tiny SFT+DPO"]
    assert [(r["policy"], r["mode"]) for r in grid] == [(p, m) for pair in (policies[:2], policies[2:])
                                                       for m in ("keyword", "hybrid") for p in pair]
    for row in grid:
        assert row["queries"] == sum(row["per_report"]["queries"]) and row["hit@100"] == sum(row["per_report"]["hits"])
        assert row["query_hit_rate_ci"][0] <= row["query_hit_rate"] <= row["query_hit_rate_ci"][1]
    training = text.split("## Training the tiny model")[1].split("## A simulated day")[0]
    assert f"on {results['pairs']} eq. 4 pairs" in training
    assert training.count("| keyword |") == 4 and "| hybrid |" not in training  # the keyword rows only
    # the day: the human queries alone, then with the baseline, the SFT model and the SFT+DPO model
    assert [r["model"] for r in results["online"]] == ["tfidf", "tiny SFT", "tiny SFT+DPO"]
    base = "human (annotation)"
    assert list(results["cumulative"]) == [base] + [f"{base} + {m}" for m in ("tfidf", "tiny SFT", "tiny SFT+DPO")]
    for row in results["online"]:
        assert results["cumulative"][f"{base} + {row['model']}"][-1] == row["combined_detections"]
        assert results["cumulative"][base][-1] == row["human_detections"]
    # table.md (the results page's view) is made from results.json alone, and shows the same tables
    from benchmarks import modes
    from benchmarks.demo import tables

    table = (out / "table.md").read_text()
    assert table == tables(results) + "\n" and f"| total | {sum(seconds.values()):.1f} |" in table
    assert modes.markdown(grid, k=100) in table and modes.markdown(grid, k=100) in text
    printed = capsys.readouterr().out
    assert "=== [9/9] write the report" in printed and str(index.resolve()) in printed


def test_demo_refuses_a_work_directory_it_did_not_make(tmp_path, capsys):
    (tmp_path / "demo" / "work").mkdir(parents=True)
    (tmp_path / "demo" / "work" / "notes.txt").write_text("keep")
    assert main(["bench", "demo", str(tmp_path / "snapshot"), "--out", str(tmp_path / "demo")]) == 2
    assert "not made by the demo" in capsys.readouterr().err
    assert (tmp_path / "demo" / "work" / "notes.txt").read_text() == "keep"


@pytest.mark.parametrize("flags", [["--items", "200"]])
def test_demo_names_a_snapshot_too_small_for_it(tmp_path, capsys, flags):
    assert main(["bench", "demo", str(tmp_path / "snapshot"), *flags, "--out", str(tmp_path / "demo")]) == 2
    assert "needs training and test reports" in capsys.readouterr().err
