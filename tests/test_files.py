"""The one way qx-env writes files and directories atomically."""

from __future__ import annotations

import pytest

from qx_env.files import atomic_directory, atomic_file, write_text_atomic


def test_atomic_file_replaces_whole_or_not_at_all(tmp_path):
    path = write_text_atomic(tmp_path / "deep" / "out.txt", "old")
    with pytest.raises(RuntimeError), atomic_file(path) as staging:
        staging.write_text("half")
        raise RuntimeError("crash while writing")
    assert path.read_text() == "old" and sorted(p.name for p in path.parent.iterdir()) == ["out.txt"]
    with atomic_file(path) as staging:
        staging.write_text("new")
        assert path.read_text() == "old"  # nothing is seen before the block ends
    assert path.read_text() == "new" and sorted(p.name for p in path.parent.iterdir()) == ["out.txt"]


def test_atomic_directory_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "run"
    with atomic_directory(target) as staging:
        (staging / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_directory(target) as staging:
        (staging / "b").write_text("2")
        raise RuntimeError("crash while filling")
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging left behind
    with atomic_directory(target) as staging:
        (staging / "c").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["c"] and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
