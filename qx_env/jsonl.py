"""JSON Lines files: written atomically, read with errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path

from qx_env.errors import QxError
from qx_env.files import atomic_file


def write_jsonl(rows: list[dict], path: str | Path) -> Path:
    """Write rows atomically (a temporary file renamed into place)."""
    with atomic_file(path) as staging, open(staging, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return Path(path)


def read_utf8(path: Path, what: str = "file") -> str:
    """The text of a UTF-8 file; otherwise an error naming the file, the line and the byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # a byte order mark is not part of the text
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise QxError(f"{what} {path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at byte {column} of the "
                      f"line, offset {exc.start} in the file)") from None


def read_jsonl(path: str | Path, required: tuple[str, ...] = (), what: str = "data file") -> list[dict]:
    """Rows of a JSONL file, each an object holding the ``required`` keys; at least one row."""
    if not str(path):
        raise QxError(f"give the {what}")
    path = Path(path)
    if path.is_dir():
        raise QxError(f"{what} {path} is a directory, not a JSONL file")
    if not path.is_file():
        raise QxError(f"{what} {path} does not exist")
    rows = []
    for number, line in enumerate(read_utf8(path, what).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QxError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise QxError(f"{path}:{number}: each line must be a JSON object")
        missing = [key for key in required if key not in row]
        if missing:
            raise QxError(f"{path}:{number}: missing {', '.join(missing)}")
        rows.append(row)
    if not rows:
        raise QxError(f"{what} {path} holds no rows")
    return rows


def read_json_object(path: str | Path, what: str = "file") -> dict:
    """The JSON object in a file; a missing file, bad JSON or another JSON value is refused in one line
    naming the file."""
    path = Path(path)
    if not path.is_file():
        raise QxError(f"{what} {path}: no such file")
    try:
        raw = json.loads(read_utf8(path, what))
    except json.JSONDecodeError as exc:
        raise QxError(f"{what} {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(raw, dict):
        raise QxError(f"{what} {path}: must hold a JSON object")
    return raw
