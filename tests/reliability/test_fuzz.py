"""The fuzz harness (``qx bench fuzz``): it runs both targets for a bounded time with no finding,
and a broken contract is caught and shrunk to a minimal example."""

from __future__ import annotations

import json

from benchmarks.fuzz import fuzz
from qx_env.cli import main


def test_fuzzing_the_parser_and_the_query_builder_finds_nothing(tmp_path, capsys):
    out = tmp_path / "fuzz.json"
    assert main(["bench", "fuzz", "--seconds", "6", "--items", "200", "--batch", "50", "--out", str(out)]) == 0
    results = json.loads(out.read_text())["targets"]
    assert set(results) == {"parse_answer", "lucene_query"}
    assert all(row["cases"] >= 50 and not row["failures"] for row in results.values())
    assert "parse_answer: " in capsys.readouterr().out


def test_a_broken_contract_is_found_and_shrunk():
    def no_commas(text: str) -> None:
        assert "," not in text

    found = fuzz(no_commas, seconds=1, seed=0, batch=100)
    assert found["failures"] and found["failures"][0]["minimal_example"] == ","
