"""One builder at a time per snapshot: every index build holds an exclusive ``flock`` on
``DIR/indexes/.build.lock``, which records the holder's pid. A second builder (another process)
says on stderr whom it waits for and waits; the kernel drops the lock of a process that dies, so a
lock file left behind by a killed build never blocks. Within a process the lock is re-entrant (a
build of several modes holds it once around all of them)."""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qx_env.errors import QxError

LOCK_FILE = ".build.lock"
_guard = threading.Lock()
_held: dict[str, list] = {}  # lock path -> [re-entrant thread lock, depth, file descriptor]


def lock_holder(path: Path) -> int | None:
    """The pid recorded in the lock file ``path`` (None when empty, unreadable or absent)."""
    try:
        return int(path.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def build_lock(directory: str | os.PathLike) -> Iterator[Path]:
    """Hold the build lock of the index directory ``directory`` (``DIR/indexes``) while the block runs."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    with _guard:
        entry = _held.setdefault(str(path), [threading.RLock(), 0, None])
    entry[0].acquire()
    try:
        if entry[1] == 0:
            entry[2] = _take(path)
        entry[1] += 1
        try:
            yield path
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                fd, entry[2] = entry[2], None
                os.ftruncate(fd, 0)  # no holder recorded once released
                os.close(fd)  # releases the flock
    finally:
        entry[0].release()


def _take(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise QxError(f"{path} is a symbolic link; qx-env takes its build lock only on a plain file") from None
        raise QxError(f"cannot create the index build lock {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock_holder(path)
            print(f"qx: waiting for {'process ' + str(holder) if holder else 'another process'} to finish "
                  f"building indexes under {path.parent} (lock {path})", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd
