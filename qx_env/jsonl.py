"""JSON Lines files: written atomically, read with errors that name the file and line."""

from __future__ import annotations

import json
import os
from pathlib import Path

from qx_env.errors import QxError


def write_jsonl(rows: list[dict], path: str | Path) -> Path:
    """Write rows atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(staging, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    os.replace(staging, path)
    return path


def read_jsonl(path: str | Path, required: tuple[str, ...] = (), what: str = "data file") -> list[dict]:
    """Rows of a JSONL file, each an object holding the ``required`` keys; at least one row."""
    if not str(path):
        raise QxError(f"give the {what}")
    path = Path(path)
    if not path.is_file():
        raise QxError(f"{what} {path} does not exist")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
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
