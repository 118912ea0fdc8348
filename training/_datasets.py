"""Training data from the feedback log, in trl's conversational formats.

- SFT (paper eq. 1): annotated queries of qualified length with exposure > 0, per report.
- Long-context (eq. 2): up to 20 reports of one cluster joined by commas, their qualified queries
  joined likewise.
- Preference pairs (eq. 4): answers whose queries reach toxic ratio >= tau are chosen, those below
  rejected; from single reports and long-context samples, several policies and candidates, ranked
  by margin.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyarrow as pa

from policies import messages
from qx_env.errors import QxError
from qx_env.jsonl import read_jsonl, write_jsonl
from qx_env.parsers import format_answer, qualified_length
from qx_env.rewards import pooled_toxic_ratio
from qx_env.snapshot import Snapshot

__all__ = ["pair_rows", "qualified", "read_jsonl", "sft_rows", "write_jsonl"]

LONG_CONTEXT_REPORTS = 20
JOINERS = {"zh": "，", "en": ", "}


def qualified(query: str, exposed: int, language: str) -> bool:
    """Eq. 1: a qualified length (:data:`qx_env.parsers.QUERY_LENGTH`) and exposure > 0."""
    return exposed > 0 and qualified_length(query, language)


def _completion(queries: Iterable[str], language: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": format_answer(list(queries), language)}]


def _texts(snapshot: Snapshot) -> tuple[dict[str, str], dict[str, str | None]]:
    reports = snapshot.reports
    ids = reports.column("report_id").to_pylist()
    return (dict(zip(ids, snapshot.report_texts(reports))),
            dict(zip(ids, reports.column("cluster_id").to_pylist())))


def sft_rows(feedback: pa.Table, snapshot: Snapshot, policy: str = "annotation", long_context: bool = True) -> list[dict]:
    """Eq. 1 samples (and eq. 2 long-context samples) from one policy's feedback."""
    language = snapshot.language
    texts, clusters = _texts(snapshot)
    kept: dict[str, list[str]] = defaultdict(list)
    for row in feedback.to_pylist():
        keep = row["policy"] == policy and row["answer"] == 0 and qualified(row["query"], row["exposed"], language)
        if keep and row["query"] not in kept[row["report_id"]]:
            kept[row["report_id"]].append(row["query"])
    rows = [{"prompt": messages(texts[r], language), "completion": _completion(q, language), "report_ids": [r],
             "kind": "single"} for r, q in kept.items()]
    if long_context:
        for group in _cluster_groups(kept, clusters):
            queries = list(dict.fromkeys(q for r in group for q in kept[r]))
            rows.append({"prompt": messages(JOINERS[language].join(texts[r] for r in group), language),
                         "completion": _completion(queries, language), "report_ids": group, "kind": "long"})
    return rows


def _cluster_groups(reports: Iterable[str], clusters: dict[str, str | None]) -> list[list[str]]:
    """Reports of one cluster, in chunks of up to 20; clusters of one report give none."""
    by_cluster: dict[str, list[str]] = defaultdict(list)
    for report in reports:
        if clusters.get(report) is not None:
            by_cluster[clusters[report]].append(report)
    groups = []
    for cluster in sorted(by_cluster):
        members = sorted(by_cluster[cluster])
        for start in range(0, len(members), LONG_CONTEXT_REPORTS):
            chunk = members[start:start + LONG_CONTEXT_REPORTS]
            if len(chunk) >= 2:
                groups.append(chunk)
    return groups


def pair_rows(feedback: pa.Table, snapshot: Snapshot, tau: float = 0.05, max_pairs: int = 4,
              long_context: bool = True) -> list[dict]:
    """Eq. 4 preference pairs ranked by margin (chosen ratio - rejected ratio), at most
    ``max_pairs`` per prompt; identical chosen and rejected answers are never paired."""
    if not 0 < tau < 1:
        raise QxError(f"tau must be in (0, 1), got {tau}")
    language = snapshot.language
    texts, clusters = _texts(snapshot)
    # candidate answers per report: (policy, answer) -> [(query, exposed, toxic)]
    answers: dict[str, dict[tuple[str, int], list[tuple[str, int, int]]]] = defaultdict(lambda: defaultdict(list))
    for row in feedback.to_pylist():
        answers[row["report_id"]][(row["policy"], row["answer"])].append(
            (row["query"], row["exposed"], row["toxic_hits"]))
    rows = []
    for report in sorted(answers):
        rows += _pairs_for(messages(texts[report], language), [report], answers[report], tau, max_pairs, language)
    if long_context:
        for group in _cluster_groups(answers, clusters):
            merged: dict[tuple[str, int], list[tuple[str, int, int]]] = defaultdict(list)
            for report in group:
                for key, items in answers[report].items():
                    merged[key] += items
            prompt = messages(JOINERS[language].join(texts[r] for r in group), language)
            rows += _pairs_for(prompt, group, merged, tau, max_pairs, language)
    return rows


def _pairs_for(prompt, report_ids, candidates, tau, max_pairs, language) -> list[dict]:
    scored = []
    for (policy, number), items in sorted(candidates.items()):
        queries = list(dict.fromkeys(q for q, _, _ in items))
        ratio = pooled_toxic_ratio((t for _, _, t in items), (e for _, e, _ in items))
        if queries:
            scored.append((ratio, policy, queries))
    chosen = [s for s in scored if s[0] >= tau]
    rejected = [s for s in scored if s[0] < tau]
    pairs = [(c, r) for c in chosen for r in rejected if c[2] != r[2]]
    pairs.sort(key=lambda p: (-(p[0][0] - p[1][0]), p[0][1], p[1][1]))
    return [{
        "prompt": prompt, "chosen": _completion(c[2], language), "rejected": _completion(r[2], language),
        "chosen_ratio": round(c[0], 4), "rejected_ratio": round(r[0], 4), "margin": round(c[0] - r[0], 4),
        "chosen_policy": c[1], "rejected_policy": r[1], "report_ids": report_ids,
    } for c, r in pairs[:max_pairs]]
