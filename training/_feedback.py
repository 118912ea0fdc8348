"""The feedback log: every candidate answer of every report, each query run through the simulated
search engine under static dynamics (the paper's 1-2 hour static collection window).

The log is a directory of Parquet parts, one per chunk of reports, each written atomically (a
temporary file renamed into place) with its sha256 beside it (``part-*.parquet.sha256``), checked
whenever the part is read. An interrupted run resumes by skipping finished parts, so the result
equals an uninterrupted run, with nothing lost or duplicated. ``shards``/``shard`` split
the chunks between processes or machines; the parts of all shards together are the full log.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from qx_env.errors import QxError
from qx_env.files import atomic_file, file_sha256, write_text_atomic
from qx_env.snapshot import Snapshot

FEEDBACK_SCHEMA = pa.schema([
    ("report_id", pa.string()),
    ("policy", pa.string()),
    ("answer", pa.int32()),  # index of the candidate answer within the policy's candidates
    ("query", pa.string()),
    ("exposed", pa.int32()),
    ("toxic_hits", pa.int32()),
    ("toxic_ratio", pa.float32()),
    ("modes", pa.string()),  # modes that found the toxic hits, e.g. "keyword+graph"
])
PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class MiningPlan:
    """What a feedback log holds; a resumed run must match it."""

    snapshot_fingerprint: str
    policies: tuple[str, ...]
    split: tuple[str, ...]
    candidates: int
    modes: tuple[str, ...]
    k: int
    chunk: int


def _part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _checksum_path(part: Path) -> Path:
    return part.with_name(part.name + ".sha256")


def _write_part(table: pa.Table, path: Path) -> None:
    """Write a part through a staging file renamed into place; its sha256 is written beside it
    first, so a part in place always has its checksum."""
    with atomic_file(path) as staging:
        pq.write_table(table, staging)
        write_text_atomic(_checksum_path(path), file_sha256(staging))


def _read_part(path: Path) -> pa.Table:
    """One part, checked against its sha256; a damaged part is named with how to mine it again."""
    record = _checksum_path(path)  # parts mined before checksums were recorded have none
    problem = None
    if record.is_file() and file_sha256(path) != record.read_text(encoding="utf-8").strip():
        problem = f"it does not match its checksum in {record.name}: truncated or edited"
    else:
        try:
            return pq.read_table(path, schema=FEEDBACK_SCHEMA)
        except (pa.ArrowException, OSError) as exc:
            problem = str(exc)
    raise QxError(f"feedback part {path} is damaged ({problem}); delete it and run the same `qx mine feedback` "
                  "command again: only the missing parts are mined")


def _remove_stale_staging(out: Path) -> None:
    """Staging files left by a killed run (their process is gone); a live process's are kept."""
    for staging in out.glob(".part-*.tmp"):
        pid = staging.name.split(".")[-2]
        if pid.isdigit() and not _process_alive(int(pid)):
            staging.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return True


def mine_feedback(snapshot: Snapshot, policies: Sequence[str], out: str | Path, split: Sequence[str] = ("train",),
                  candidates: int = 1, modes: Sequence[str] = ("keyword",), k: int = 100, chunk: int = 50,
                  shards: int = 1, shard: int = 0, progress: bool = True, stop_after: int | None = None) -> Path:
    """Run every policy's candidate answers of the split's reports; write the log to ``out``.

    ``stop_after`` (for tests of resumption) stops after that many new parts, as a crash would.
    """
    from policies import make_policy
    from qx_env.search import AuditedSearch, SearchSystem

    if not 0 <= shard < shards:
        raise QxError(f"shard must be in [0, {shards}), got {shard}")
    if not policies:
        raise QxError("give at least one policy to mine with")
    out = Path(out)
    plan = MiningPlan(snapshot.fingerprint, tuple(policies), tuple(split), candidates, tuple(modes), k, chunk)
    _check_plan(out, plan)
    reports = snapshot.reports_in(list(split))
    report_ids = reports.column("report_id").to_pylist()
    texts = snapshot.report_texts(reports)
    chunks = [(i, range(start, min(start + chunk, len(report_ids))))
              for i, start in enumerate(range(0, len(report_ids), chunk)) if i % shards == shard]
    done = [out / _part_name(i) for i, _ in chunks if (out / _part_name(i)).is_file()]
    for part in done:  # a resumed run trusts no part it cannot read back
        _read_part(part)
    _remove_stale_staging(out)
    todo = [(i, rows) for i, rows in chunks if not (out / _part_name(i)).is_file()]
    if not todo:
        return out
    system = SearchSystem(snapshot, modes=modes, k=k)
    positions = [snapshot.position_of[i] for i in reports.column("item_id").to_pylist()]
    audit = AuditedSearch(system, "static", known=positions)
    made = [make_policy(spec, snapshot) for spec in policies]
    for written, (index, rows) in enumerate(tqdm(todo, desc=f"mine feedback (shard {shard + 1}/{shards})",
                                                 disable=not progress), start=1):
        records = []
        chunk_texts = [texts[row] for row in rows]
        for spec, policy in zip(policies, made):
            if candidates > 1:
                per_text = [policy.candidates(text, candidates) for text in chunk_texts]
            else:  # one batched call per chunk (an LLM policy generates the chunk in batches)
                per_text = [[queries] for queries in policy.extract(chunk_texts)]
            for row, answers in zip(rows, per_text):
                for number, queries in enumerate(answers):
                    for query in dict.fromkeys(q.strip() for q in queries if q.strip()):
                        records.append((report_ids[row], spec, number, query))
        queries = list(dict.fromkeys(r[3] for r in records))
        by_query = dict(zip(queries, audit.run_many(queries)))
        outcomes = [by_query[r[3]] for r in records]
        table = pa.table({
            "report_id": [r[0] for r in records],
            "policy": [r[1] for r in records],
            "answer": [r[2] for r in records],
            "query": [r[3] for r in records],
            "exposed": [len(o.exposed) for o in outcomes],
            "toxic_hits": [o.toxic_hits for o in outcomes],
            "toxic_ratio": [o.toxic_ratio for o in outcomes],
            "modes": ["+".join(mode for mode, n in o.hit_modes().items() if n) for o in outcomes],
        }, schema=FEEDBACK_SCHEMA)
        _write_part(table, out / _part_name(index))
        if stop_after is not None and written >= stop_after:
            break
    system.restore()
    return out


def _check_plan(out: Path, plan: MiningPlan) -> None:
    path = out / PLAN_FILE
    if path.is_file():
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise QxError(f"{path} is damaged; delete the feedback log {out} and mine it again") from None
        wanted = json.loads(json.dumps(asdict(plan)))
        if existing != wanted:
            changed = sorted(key for key in wanted if existing.get(key) != wanted[key])
            raise QxError(f"{out} holds a feedback log mined with other settings ({', '.join(changed)}); "
                          "use another --out or delete it")
        return
    if out.exists() and any(out.iterdir()):
        raise QxError(f"{out} exists, is not empty and is not a feedback log; choose another --out")
    write_text_atomic(path, json.dumps(asdict(plan), indent=2))


def read_feedback(path: str | Path) -> pa.Table:
    """The whole feedback log (all parts, in order)."""
    root = Path(path)
    if not (root / PLAN_FILE).is_file():
        raise QxError(f"{root} is not a feedback log (no {PLAN_FILE}); mine one with `qx mine feedback`")
    parts = sorted(root.glob("part-*.parquet"))
    if not parts:
        return FEEDBACK_SCHEMA.empty_table()
    return pa.concat_tables(_read_part(p) for p in parts)
