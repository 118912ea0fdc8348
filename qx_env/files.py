"""How qx-env writes and checks its files. An output directory is resolved and claimed before
anything goes into it (an existing one only when it already holds that kind of output); a path
inside it must stay inside it (a ``..`` or a symbolic link that leads out is refused); a directory
is replaced in one rename; checksums recorded beside files tell a damaged file from a good one.
Every atomic write goes through :func:`atomic_file` or :func:`atomic_directory`."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from qx_env.errors import QxError


def claim_output_dir(path: str | os.PathLike, kind: str, holds: Callable[[Path], bool]) -> Path:
    """``path`` resolved, as the directory that receives output of ``kind`` (e.g. "training run").
    Refused when it is a file, or an existing non-empty directory that ``holds`` does not recognise."""
    root = Path(path).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise QxError(f"{root} exists and is not a directory; choose another --out")
    if root.is_dir() and any(root.iterdir()) and not holds(root):
        raise QxError(f"{root} exists, is not empty and is not a {kind}; choose another --out")
    return root


def inside(root: str | os.PathLike, *parts: str) -> Path:
    """``root / parts`` resolved; refused when it leads outside ``root`` (through ``..`` or a link)."""
    base = Path(root).resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise QxError(f"{Path(root).joinpath(*parts)} leads outside {base} (to {target}); "
                      "qx-env writes only inside the output directory it was given")
    return target


def current_umask() -> int:
    """The process's file-mode creation mask (read from /proc where it can be, without changing it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def replace_directory(staging: Path, target: Path) -> None:
    """Move the finished ``staging`` directory to ``target`` in one rename, retiring what was there.

    ``staging`` (made 0700 by ``tempfile.mkdtemp``) first gets the mode of any new directory under
    the umask, so the result is as readable as a directory made with ``mkdir``."""
    os.chmod(staging, 0o777 & ~current_umask())
    retired = None
    if target.exists():
        retired = target.with_name(f".{target.name}.{os.getpid()}.old")
        os.replace(target, retired)
    os.replace(staging, target)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """A staging file beside ``path`` for the block to write; renamed onto ``path`` in one step when
    the block ends, removed when it fails (``path`` then stays as it was). Parents are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield staging
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


@contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """A new staging directory beside ``target`` for the block to fill; it replaces ``target`` in one
    rename when the block ends (see :func:`replace_directory`), and is removed when the block fails."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield staging
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a staging file renamed into place."""
    with atomic_file(path) as staging:
        staging.write_text(text, encoding="utf-8")
    return Path(path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_checksums(directory: Path, skip: Iterable[str] = ()) -> dict[str, str]:
    """sha256 of every file below ``directory`` (but those named in ``skip``), by relative path."""
    skipped = set(skip)
    return {file.relative_to(directory).as_posix(): file_sha256(file) for file in sorted(directory.rglob("*"))
            if file.is_file() and file.name not in skipped}


def checksum_problem(directory: Path, expected: dict[str, str], record: str) -> str | None:
    """What is wrong with the files below ``directory`` against the checksums in ``record``, if anything."""
    for name, digest in expected.items():
        file = directory / name
        if not file.is_file():
            return f"{name} is missing"
        if file_sha256(file) != digest:
            return f"{name} does not match its checksum in {record} (truncated or edited)"
    return None
