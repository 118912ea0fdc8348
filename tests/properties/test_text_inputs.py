"""Property-based tests: any Unicode text at every text entry point gives a defined result, no crash
(and no JVM abort). Each property runs a bounded number of generated cases."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes import MAX_QUERY_CHARS, KeywordIndex, clean_query
from qx_env import QxError, SnapshotError
from qx_env.envs import ExploreEnv
from qx_env.parsers import ANSWER_PREFIXES, format_answer, parse_answer, trim_query

LUCENE = st.sampled_from(list('+-&|!(){}[]^"~*?:\\/') + ["AND", "OR", "NOT", "TO", "title:", "*:*"])
TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.text(max_size=5), LUCENE), max_size=40).map(" ".join),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=2000, max_size=12_000),
)
CASES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


@CASES
@given(TEXT)
def test_parse_answer_is_total(text):
    parsed = parse_answer(text)
    assert all(q and q == q.strip() and "," not in q and "，" not in q for q in parsed.queries)
    assert parse_answer(ANSWER_PREFIXES["zh"] + text).well_formed == bool(parsed.queries)


@CASES
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters=",，\n", blacklist_categories=("Cs",)),
                        min_size=1, max_size=20).map(str.strip).filter(bool), min_size=1, max_size=5, unique=True))
def test_format_then_parse_round_trips(queries):
    assert parse_answer(format_answer(queries)).queries == tuple(dict.fromkeys(t for t in map(trim_query, queries) if t))


@CASES
@given(TEXT)
def test_clean_query_is_bounded_and_printable(text):
    cleaned = clean_query(text)
    assert len(cleaned) <= MAX_QUERY_CHARS and cleaned == cleaned.strip()
    assert all(ch.isprintable() or ch == " " for ch in cleaned)


@pytest.fixture(scope="module")
def keyword_exact(indexed_snapshot):
    return KeywordIndex.open(indexed_snapshot, match="exact"), KeywordIndex.open(indexed_snapshot, match="bm25")


@CASES
@given(TEXT)
def test_lucene_never_crashes(keyword_exact, text):
    for index in keyword_exact:
        hits = index.search(text, 10)
        assert len(hits) <= 10 and index.count(text) >= len(hits)


@pytest.fixture(scope="module")
def env(indexed_snapshot):
    return ExploreEnv(indexed_snapshot, k=10, candidates=20, budget=10_000, max_steps=10_000, dynamics="removal",
                      split=["train", "dev", "test"])


@CASES
@given(st.one_of(TEXT, st.lists(TEXT, max_size=5)))
def test_env_step_accepts_any_text(env, action):
    # any text, or list of texts, is a step: a valid observation, the budget spent by the queries searched
    # (a text with nothing searchable is no query), a reward that is the sum of its terms, and each query's
    # figures within the page it exposed
    budget = env.reset(seed=0)[0]["budget"]
    obs, reward, *_, info = env.step(action)
    assert env.observation_space.contains(obs)
    searched = info["queries"]
    # a text that starts like a model answer ("queries: a; b") is parsed as one
    most = len(action) if isinstance(action, list) else max(1, len(parse_answer(action).queries))
    assert len(searched) <= most and (info["well_formed"] or isinstance(action, str))
    assert obs["budget"] == budget - len(searched) and info["totals"]["queries"] == len(searched)
    assert all(q["query"].strip() for q in searched)
    assert reward == pytest.approx(sum(info["reward_components"].values()))
    for q in searched:
        assert len(q["exposed_ids"]) <= env.k and set(q["toxic_ids"]) <= set(q["exposed_ids"])
        assert q["toxic_hits"] == len(q["toxic_ids"]) and q["new_detections"] <= q["toxic_hits"]


@CASES
@given(st.lists(st.text(max_size=50), min_size=1, max_size=6))
def test_snapshot_rows_validate_or_name_the_problem(snapshot_factory, texts):
    try:
        snapshot = snapshot_factory(texts, [1] + [0] * (len(texts) - 1))
    except SnapshotError as error:
        assert "empty text" in str(error)
        assert any(not t.strip() for t in texts)
    else:
        assert snapshot.texts == texts and all(t.strip() for t in texts)


def test_non_string_queries_are_refused(keyword_exact):
    with pytest.raises(QxError, match="must be a string"):
        keyword_exact[0].search(b"bytes", 10)

