"""One rule for unusable indexes (missing, damaged, built for another snapshot), in Python and on
every command: refused with one message naming each and the one command that builds them all, or
(re)built in place, with a warning naming what was wrong, only when asked (``build=True``,
``--build-missing``)."""

from __future__ import annotations

import io
import shutil
import sys

import pytest

from indexes import KeywordIndex, ensure_indexes
from qx_env import IndexDataError, QxError, SearchSystem, Snapshot
from qx_env.cli import main


def _cut(path, size: int = 1000) -> None:
    path.write_bytes(path.read_bytes()[:size])


def _largest(directory):
    return max((f for f in directory.iterdir() if f.is_file()), key=lambda f: f.stat().st_size)


@pytest.fixture
def snapshot_copy(indexed_snapshot, tmp_path):
    shutil.copytree(indexed_snapshot.path, tmp_path / "copy")
    return Snapshot.load(tmp_path / "copy")


@pytest.fixture(scope="module")
def other_keyword(snapshot_factory, tmp_path_factory):
    """The keyword index of another snapshot."""
    other = snapshot_factory(["红腹水虎 出售", "老虎玩偶"], [1, 0], path=tmp_path_factory.mktemp("other") / "s")
    return KeywordIndex.build(other, progress=False).directory


def _damage(snapshot, kind: str, other_keyword) -> str:
    """Damage one index of ``snapshot``; returns the text its refusal must name."""
    indexes = snapshot.path / "indexes"
    if kind == "lucene cut":
        _cut(_largest(indexes / "keyword" / "lucene"))
        return "keyword index .* cannot be read: lucene/.* does not match its checksum"
    if kind == "graph cut":
        _cut(indexes / "graph" / "graph.npz")
        return "graph index .* cannot be read: graph.npz does not match its checksum"
    if kind == "foreign":
        shutil.rmtree(indexes / "keyword")
        shutil.copytree(other_keyword, indexes / "keyword")
        return "keyword index .* was built for another snapshot"
    shutil.rmtree(indexes / "keyword")
    return "no keyword index at"


KINDS = ["lucene cut", "graph cut", "foreign", "missing"]


def _files(snapshot):
    return {p: p.read_bytes() for p in sorted((snapshot.path / "indexes").rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", KINDS)
def test_every_damage_kind_is_refused_with_the_command_that_rebuilds_it(snapshot_copy, other_keyword, kind):
    problem = _damage(snapshot_copy, kind, other_keyword)
    before = _files(snapshot_copy)
    with pytest.raises(IndexDataError, match=f"{problem}.*build it with `qx index build {snapshot_copy.path} "
                                             "--modes (keyword|graph)`, or rerun with --build-missing"):
        SearchSystem(snapshot_copy, modes="hybrid", build=False)
    assert _files(snapshot_copy) == before  # nothing overwritten


def test_every_unusable_index_is_named_at_once_with_one_command(snapshot_copy, other_keyword):
    _damage(snapshot_copy, "foreign", other_keyword)
    _damage(snapshot_copy, "graph cut", other_keyword)
    shutil.rmtree(snapshot_copy.path / "indexes" / "embedding")
    with pytest.raises(IndexDataError) as refused:
        ensure_indexes(snapshot_copy, ["graph"])
    message = str(refused.value)
    assert "built for another snapshot" in message and "no embedding index" in message and "graph.npz" in message
    assert f"`qx index build {snapshot_copy.path} --modes keyword,embedding,graph`" in message
    assert "\n" not in message


@pytest.mark.parametrize("kind", ["lucene cut", "graph cut", "foreign"])
def test_build_true_rebuilds_with_a_warning_that_names_what_was_wrong(snapshot_copy, other_keyword, kind):
    problem = _damage(snapshot_copy, kind, other_keyword)
    with pytest.warns(UserWarning, match=f"rebuilding the (keyword|graph) index of {snapshot_copy.path}: .*{problem}"):
        system = SearchSystem(snapshot_copy, modes="hybrid", build=True)
    assert len(system.search("转让")) > 0
    graph = system.indexes["graph"]  # seeded by the indexes as rebuilt, live items only
    assert graph.seeders == [system.indexes["keyword"], system.indexes["embedding"]] and graph.seed_mask is system.alive
    ensure_indexes(snapshot_copy, "hybrid")  # all usable again, nothing to build


def test_a_missing_index_is_built_with_a_warning_when_asked(snapshot_copy, other_keyword):
    _damage(snapshot_copy, "missing", other_keyword)
    with pytest.warns(UserWarning, match="building the missing keyword index"):
        SearchSystem(snapshot_copy, modes="keyword")  # build=True is the Python default
    assert KeywordIndex.open(snapshot_copy).size == len(snapshot_copy)


def test_commands_refuse_unless_asked_to_build(snapshot_copy, other_keyword, capsys, monkeypatch):
    _damage(snapshot_copy, "lucene cut", other_keyword)
    before = _files(snapshot_copy)
    directory = str(snapshot_copy.path)
    command = f"`qx index build {directory} --modes keyword`"
    assert main(["search", directory, "--mode", "hybrid", "转让"]) == 2
    assert command in capsys.readouterr().err
    assert main(["eval", directory, "--annotations", "--split", "train,dev,test"]) == 2
    assert command in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("转让\n"))
    assert main(["play", directory, "--episodes", "1", "--split", "train,dev,test"]) == 2
    assert command in capsys.readouterr().err
    feedback = snapshot_copy.path.parent / "feedback"
    assert main(["mine", "feedback", directory, "--policies", "annotation", "--out", str(feedback)]) == 2
    assert command in capsys.readouterr().err and not feedback.exists()
    assert main(["train", "loop", "--snapshot", directory, "--base", "none", "--out",
                 str(snapshot_copy.path.parent / "loop")]) == 2
    assert command in capsys.readouterr().err
    assert _files(snapshot_copy) == before
    with pytest.warns(UserWarning, match="rebuilding the keyword index .* does not match its checksum"):
        assert main(["search", directory, "--mode", "keyword", "--build-missing", "转让"]) == 0
    assert "exposed" in capsys.readouterr().out


def test_an_unknown_mode_lists_every_accepted_name(indexed_snapshot, capsys):
    with pytest.raises(QxError, match="unknown retrieval mode 'sparse'; choose from keyword, embedding, graph, hybrid"):
        SearchSystem(indexed_snapshot, modes=("sparse",))
    assert main(["search", str(indexed_snapshot.path), "--mode", "keyword,sparse", "转让"]) == 2
    assert "choose from keyword, embedding, graph, hybrid" in capsys.readouterr().err


def test_bench_modes_names_every_missing_index_before_any_work(snapshot_copy, capsys, tmp_path):
    for mode in ("keyword", "graph"):
        shutil.rmtree(snapshot_copy.path / "indexes" / mode)
    arguments = ["bench", "modes", str(snapshot_copy.path), "--policies", "annotation", "--modes", "embedding,graph",
                 "--split", "train,dev,test", "--out", str(tmp_path / "out")]
    assert main(arguments) == 2
    assert f"`qx index build {snapshot_copy.path} --modes keyword,graph`" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.warns(UserWarning, match="building the missing graph index"):
        assert main([*arguments, "--build-missing"]) == 0
    assert (tmp_path / "out" / "results.json").is_file()


def test_a_rebuild_warning_is_one_qx_line_on_the_command_line(snapshot_copy):
    import subprocess

    shutil.rmtree(snapshot_copy.path / "indexes" / "keyword")
    done = subprocess.run([sys.executable, "-m", "qx_env", "search", str(snapshot_copy.path), "--build-missing", "转让"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if "keyword index" in line]
    assert lines and all(line.startswith("qx: warning: building the missing keyword index") for line in lines)
    assert "UserWarning" not in done.stderr
