"""Training data from the feedback log, in trl's conversational formats.

- SFT (paper eq. 1): annotated queries of qualified length with exposure > 0, per report.
- Long-context (eq. 2): up to 20 reports of one cluster joined by commas, their qualified queries
  joined likewise.
- Preference pairs (eq. 4): answers whose queries reach toxic ratio >= tau are chosen, those below
  rejected; from single reports and long-context samples, several policies and candidates, ranked
  by margin.
- Tool calls (the warm start for GRPO with the search tool): the TRL environment's own prompt, a
  policy's queries as calls of its search tool, the tool's answers and a final answer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from policies import messages
from qx_env.errors import QxError
from qx_env.jsonl import read_jsonl, write_jsonl
from qx_env.parsers import format_answer, qualified_length
from qx_env.rewards import pooled_toxic_ratio
from qx_env.snapshot import Snapshot

__all__ = ["pair_rows", "qualified", "read_jsonl", "report_pairs", "sft_rows", "tool_call_rows", "write_jsonl"]

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


#: Candidate answers per report: ``answers[report][(policy, number)]`` = [(query, exposed, toxic hits), ...].
Answers = dict[str, dict[tuple[str, int], list[tuple[str, int, int]]]]


def pair_rows(feedback: pa.Table, snapshot: Snapshot, tau: float = 0.05, max_pairs: int = 4,
              long_context: bool = True) -> list[dict]:
    """Eq. 4 preference pairs ranked by margin (chosen ratio - rejected ratio), at most
    ``max_pairs`` per prompt; identical chosen and rejected answers are never paired."""
    language = snapshot.language
    texts, clusters = _texts(snapshot)
    answers: Answers = defaultdict(lambda: defaultdict(list))
    for row in feedback.to_pylist():
        answers[row["report_id"]][(row["policy"], row["answer"])].append(
            (row["query"], row["exposed"], row["toxic_hits"]))
    rows = report_pairs(answers, texts, language, tau, max_pairs)
    if long_context:
        for group in _cluster_groups(answers, clusters):
            merged: dict[tuple[str, int], list[tuple[str, int, int]]] = defaultdict(list)
            for report in group:
                for key, items in answers[report].items():
                    merged[key] += items
            prompt = messages(JOINERS[language].join(texts[r] for r in group), language)
            rows += _pairs_for(prompt, group, merged, tau, max_pairs, language)
    return rows


def report_pairs(answers: Answers, texts: dict[str, str], language: str, tau: float = 0.05,
                 max_pairs: int = 4) -> list[dict]:
    """Eq. 4 pairs of each report's candidate answers (:data:`Answers`) on its own text."""
    if not 0 < tau < 1:
        raise QxError(f"tau must be in (0, 1), got {tau}")
    rows = []
    for report in sorted(answers):
        rows += _pairs_for(messages(texts[report], language), [report], answers[report], tau, max_pairs, language)
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


def tool_call_rows(snapshot: Snapshot, policies: str | Sequence[str] = "annotation", split: str | Sequence[str] = "train",
                   calls: int = 1, **options: Any) -> list[dict]:
    """SFT rows that teach a model to call the search tool of :class:`training.SearchEnvironment`, one per
    report of ``split`` with a rewarded query: the prompt the TRL environment gives (:func:`training.tool_rows`'
    instruction with ``reset``'s report appended, as ``GRPOTrainer`` appends it), then up to ``calls`` of the
    queries of ``policies`` (policy specs, or one; ``annotation``: the auditors'), each an assistant tool call
    followed by the tool's answer from a real episode, then the queries in the paper's answer format. A
    report's queries of qualified length (from every policy, in order) are each searched on a fresh episode and the ``calls`` with the most reward (> 0) kept, best first; the
    answers come from replaying them in one episode. ``options``: the environment's (``modes``, ``k``,
    ``budget``, ``reward``, ``observe_results``, ``result_chars``, ...); GRPO should use the same, as the
    tool's answers depend on them. Each row carries the tool schemas (``tools``, JSON) its prompt renders."""
    from policies import make_policy
    from qx_env.adapters import SearchEnvironment, tool_rows

    if calls < 1:
        raise QxError(f"calls must be at least 1, got {calls}")
    if calls > options.get("budget", 5):
        raise QxError(f"calls ({calls}) exceed the episode's budget ({options.get('budget', 5)} searches)")
    specs = [policies] if isinstance(policies, str) else list(policies)
    if not specs:
        raise QxError("tool-call rows need at least one policy whose queries are the calls")
    extractors = [make_policy(spec, snapshot) for spec in specs]
    for spec, extractor in zip(specs, extractors):
        if extractor.uses_labels:
            raise QxError(f"policy {spec!r} reads the hidden labels; its queries are no training data")
    language = snapshot.language
    rows = tool_rows(snapshot, split)
    texts = snapshot.report_texts(snapshot.reports_in(split))
    pooled = [[q for answer in answers for q in answer] for answers in zip(*(e.extract(texts) for e in extractors))]
    env = SearchEnvironment(snapshot.path, split=split, **options)
    tools = json.dumps(SearchEnvironment.tool_schemas(), ensure_ascii=False)
    out = []
    for row, queries in zip(rows, pooled):
        scored = []
        for order, query in enumerate(dict.fromkeys(q for q in queries if qualified_length(q, language))):
            env.reset(**row)
            env.search(query)
            if env.get_reward() > 0:
                scored.append((-env.get_reward(), order, query))
        chosen = [query for _, _, query in sorted(scored)[:calls]]
        if not chosen:
            continue
        report = env.reset(**row)
        last = row["prompt"][-1]
        prompt = [*row["prompt"][:-1], {**last, "content": last["content"] + report}]  # as GRPOTrainer appends it
        completion, name = [], env.search.__name__
        for query in chosen:
            call = {"type": "function", "function": {"name": name, "arguments": {"query": query}}}
            completion += [{"role": "assistant", "content": "", "tool_calls": [call]},
                           {"role": "tool", "name": name, "content": env.search(query)}]
        completion += _completion(chosen, language)
        out.append({"prompt": prompt, "completion": completion, "tools": tools, "report_ids": [row["report_id"]],
                    "kind": "tool", "reward": env.get_reward()})
    return out
