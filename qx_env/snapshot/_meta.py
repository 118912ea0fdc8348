"""``meta.json``: what a snapshot is, where it came from, and the checksums of its files."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qx_env.errors import SnapshotError
from qx_env.snapshot._schema import SCHEMA_VERSION, check_schema_version


@dataclass
class SnapshotMeta:
    """Descriptive metadata of a snapshot, stored as ``meta.json``."""

    language: str
    name: str
    seed: int
    #: How the snapshot was made: ``{"name": ..., "version": ..., "params": {...}}``.
    generator: dict[str, Any]
    #: Real sources read, each ``{"name", "path", "rows", "sha256"}``; empty for synthetic corpora.
    sources: list[dict[str, Any]] = field(default_factory=list)
    #: Library versions the snapshot was made with.
    versions: dict[str, str] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    #: ``{"items.parquet": {"sha256": ..., "bytes": ...}, ...}``, filled in when saved.
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: How the reports were split (:class:`qx_env.snapshot.SplitRule` as a dict); empty for snapshots made
    #: before the rule was recorded (they were split by campaign, filling train, dev, test in turn).
    split: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, path: Path) -> SnapshotMeta:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SnapshotError(f"{path.parent} is not a snapshot: it has no meta.json") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SnapshotError(f"{path} is not valid JSON ({exc}); rebuild the snapshot") from None
        if not isinstance(raw, dict):
            raise SnapshotError(f"{path} must hold a JSON object")
        check_schema_version(raw.get("schema_version"), str(path))
        known = set(cls.__dataclass_fields__)
        missing = [k for k in ("language", "name", "seed", "generator") if k not in raw]
        if missing:
            raise SnapshotError(f"{path} is missing key(s) {', '.join(missing)}")
        return cls(**{k: v for k, v in raw.items() if k in known})
