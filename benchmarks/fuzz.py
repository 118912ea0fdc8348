"""Fuzzing the answer parser and the Lucene query builder with hypothesis for a bounded time.

Generated texts (any Unicode with lone surrogates and control characters, Lucene syntax, answer
prefixes with quotes and both comma kinds, texts of up to 12,000 characters) must give a defined
result: the parser returns stripped, distinct queries that survive a format/parse round trip;
the query builder returns a Lucene query (or none) that Lucene can count and search, for the
Chinese and the English analyzer under both matching rules. A target stops at its first failing
case, shrunk to a minimal one and written to the result JSON; the command then fails.

    python -m benchmarks.fuzz --seconds 60
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import describe_run, parse_args, write_text_atomic


@dataclass
class Args:
    seconds: float = 60.0
    """Fuzzing time, shared equally by the targets (index building not counted)."""
    seed: int = 0
    """Seed of the first hypothesis run."""
    items: int = 500
    """Items of the small zh and en snapshots whose keyword indexes are fuzzed."""
    batch: int = 200
    """Generated cases per hypothesis run; runs repeat with new seeds until time is up."""
    out: str = "reports/bench/fuzz.json"
    """Output JSON file."""


def texts():
    """The hypothesis strategy of fuzzed texts."""
    from hypothesis import strategies as st

    from qx_env.parsers import ANSWER_PREFIXES

    lucene = st.sampled_from(list('+-&|!(){}[]^"~*?:\\/') + ["AND", "OR", "NOT", "TO", "title:", "*:*", "\\u0000"])
    pieces = st.one_of(st.text(max_size=6), lucene, st.sampled_from(list(",，\n\"'“”‘’「」 \t\r\u3000")))
    prefixes = st.sampled_from([*ANSWER_PREFIXES.values(), "提取的关键词集合如下,以英文逗号分隔:", ""])
    return st.one_of(
        st.text(max_size=300),
        st.text(alphabet=st.characters(exclude_categories=()), max_size=300),  # lone surrogates too
        st.tuples(prefixes, st.lists(pieces, max_size=40).map("".join)).map("".join),
        st.lists(st.one_of(st.text(max_size=5), lucene), max_size=40).map(" ".join),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=2000, max_size=12_000),
    )


def check_parse_answer(text: str) -> None:
    """The parser's contract on one text (AssertionError when broken)."""
    from qx_env.parsers import ANSWER_PREFIXES, format_answer, parse_answer, split_queries, trim_query

    parsed = parse_answer(text)
    assert len(set(parsed.queries)) == len(parsed.queries), "duplicate queries"
    assert all(q and q == trim_query(q) and not {",", "，", "\n"} & set(q) for q in parsed.queries), parsed.queries
    prefixed = parse_answer(ANSWER_PREFIXES["zh"] + text)
    assert prefixed.queries == split_queries(text) and prefixed.well_formed == bool(prefixed.queries)
    if parsed.queries:
        again = parse_answer(format_answer(parsed.queries))
        assert again.queries == parsed.queries and again.well_formed, (parsed.queries, again.queries)


def keyword_checker(indexes: list) -> Callable[[str], None]:
    """The query builder's contract on one text, for every given keyword index and both rules."""
    from indexes import RULES

    def check(text: str) -> None:
        for index in indexes:
            for rule in RULES:
                query = index.lucene_query(text, rule)
                assert query is None or isinstance(query.toString(), str)
            hits = index.search(text, 10)
            assert len(hits) <= 10 and all(0 <= p < index.size for p in hits.positions.tolist())
            assert index.count(text) >= len(hits)

    return check


def fuzz(check: Callable[[str], None], seconds: float, seed: int, batch: int) -> dict:
    """Run ``check`` on generated texts until ``seconds`` have passed or it fails; a failing case is
    shrunk to a minimal one and kept."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    cases, failures, run = 0, [], 0
    failing: list[str] = []  # inputs that broke the contract in the current run, the shrunk one last
    started = time.perf_counter()
    strategy = texts()
    while not failures and time.perf_counter() - started < seconds:  # a target stops at its first finding
        failing.clear()

        @seeded(seed * 1_000_003 + run)
        @settings(max_examples=batch, deadline=None, database=None, phases=(Phase.generate, Phase.shrink),
                  suppress_health_check=list(HealthCheck), print_blob=False)
        @given(strategy)
        def holds(text: str) -> None:
            nonlocal cases
            cases += 1
            try:
                check(text)
            except Exception:
                failing.append(text)
                raise

        try:
            holds()
        except Exception as exc:  # noqa: BLE001 - any failure of the contract is a finding
            failures.append({"run": run, "error": f"{type(exc).__name__}: {exc}"[:500],
                             "minimal_example": failing[-1] if failing else None})
        run += 1
    elapsed = time.perf_counter() - started
    return {"cases": cases, "seconds": round(elapsed, 2), "cases_per_s": round(cases / elapsed, 1),
            "runs": run, "failures": failures}


def keyword_indexes(root: Path, items: int, seed: int) -> list:
    """Keyword indexes of small synthetic zh and en snapshots under ``root``."""
    from indexes import KeywordIndex
    from qx_env import Snapshot
    from qx_env.corpus import SynthConfig, synthesize

    built = []
    for language in ("zh", "en"):
        path = synthesize(SynthConfig(language=language, items=items, seed=seed), progress=False).save(root / language)
        built.append(KeywordIndex.build(Snapshot.load(path), progress=False))
    return built


def main(args: Args) -> dict:
    from qx_env.errors import QxError

    with tempfile.TemporaryDirectory(prefix="qx-fuzz-") as scratch:
        indexes = keyword_indexes(Path(scratch), args.items, args.seed)
        targets = {"parse_answer": check_parse_answer, "lucene_query": keyword_checker(indexes)}
        share = args.seconds / len(targets)
        results = {name: fuzz(check, share, args.seed, args.batch) for name, check in targets.items()}
        for index in indexes:
            index.close()
    out = write_text_atomic(args.out, json.dumps({"targets": results, **describe_run(args)}, indent=2,
                                                 ensure_ascii=False))
    for name, row in results.items():
        print(f"{name}: {row['cases']:,} cases in {row['seconds']} s ({row['cases_per_s']:,} cases/s), "
              f"{len(row['failures'])} failing")
        for failure in row["failures"]:
            print(f"  {failure['error']}\n  minimal example: {failure['minimal_example']!r}")
    print(f"wrote {out}")
    found = sum(len(row["failures"]) for row in results.values())
    if found:
        raise QxError(f"fuzzing found {found} failing case(s); see {out}")
    return results


if __name__ == "__main__":
    main(parse_args(Args, __doc__.splitlines()[0]))
