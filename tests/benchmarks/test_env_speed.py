"""The env speed benchmark steps only the modes it is given, and builds only their indexes."""

from __future__ import annotations

import json

from benchmarks import env_speed


def test_env_speed_of_one_mode_builds_only_its_index(tmp_path):
    snapshot = tmp_path / "snap"
    out = tmp_path / "env.json"
    results = env_speed.main(env_speed.Args(items=1500, steps=20, modes=("keyword",), snapshot=str(snapshot),
                                            out=str(out)))
    assert list(results["modes"]) == ["keyword"] and results["modes"]["keyword"]["env_steps_per_s"] > 0
    assert sorted(p.name for p in (snapshot / "indexes").iterdir() if p.is_dir()) == ["keyword"]
    assert json.loads(out.read_text())["modes"].keys() == {"keyword"}
