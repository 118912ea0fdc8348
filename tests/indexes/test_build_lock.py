"""The per-snapshot build lock: two processes building into one snapshot take turns (the second
uses what the first built), a lock left by a killed process blocks nobody, and the JVM those
processes start prints no library banners."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from indexes import KeywordIndex, build_lock
from indexes._lock import LOCK_FILE, lock_holder

BUILD = ("import sys, warnings; warnings.simplefilter('always'); from qx_env import Snapshot; "
         "from indexes import ensure_indexes; ensure_indexes(Snapshot.load(sys.argv[1]), 'keyword', build=True)")
HOLD = ("import sys; from indexes import build_lock; lock = build_lock(sys.argv[1]); lock.__enter__(); "
        "print('held', flush=True); sys.stdin.readline()")


def _wait_for(predicate, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_two_processes_building_into_one_snapshot_take_turns(snapshot_factory, tmp_path):
    snapshot = snapshot_factory([f"红腹水虎 {i} 出售" for i in range(40)], [int(i % 3 == 0) for i in range(40)],
                                path=tmp_path / "s")
    root = snapshot.path / "indexes"
    logs = [tmp_path / f"builder{i}.err" for i in range(2)]
    with build_lock(root):  # both builders find the index missing, then wait for this lock
        builders = [subprocess.Popen([sys.executable, "-c", BUILD, str(snapshot.path)], stderr=log.open("w"))
                    for log in logs]
        _wait_for(lambda: all(f"waiting for process {os.getpid()}" in log.read_text() for log in logs),
                  "both builders to wait for the lock")
        assert lock_holder(root / LOCK_FILE) == os.getpid()
        assert not (root / "keyword").exists()
    assert [b.wait(timeout=300) for b in builders] == [0, 0]
    errors = [log.read_text() for log in logs]
    assert sum("building the missing keyword index" in e for e in errors) == 1, errors  # the other used it
    assert KeywordIndex.open(snapshot).size == 40
    assert sorted(p.name for p in root.iterdir()) == [LOCK_FILE, "keyword"]  # no staging left behind
    for error in errors:  # the JVM each started said nothing the user must not read
        assert "SLF4J" not in error and "You are running with Java" not in error, error


def test_a_lock_left_by_a_killed_process_blocks_nobody(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    assert lock_holder(tmp_path / LOCK_FILE) == holder.pid
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock_holder(tmp_path / LOCK_FILE) == holder.pid  # the dead process's pid is still written there
    with build_lock(tmp_path):
        assert lock_holder(tmp_path / LOCK_FILE) == os.getpid()
        with build_lock(tmp_path):  # re-entrant within a process
            pass
    assert "waiting" not in capsys.readouterr().err
    assert lock_holder(tmp_path / LOCK_FILE) is None  # released: no holder recorded
