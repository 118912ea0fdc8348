"""Keyword retrieval on a real Lucene index: exact vs bm25, Chinese and English, hostile queries."""

from __future__ import annotations

import pytest

from indexes import MAX_QUERY_CHARS, KeywordIndex

ZH = [
    "红腹水虎小苗，8公分左右，同城自提",  # 0 the exact phrase
    "红腹鹦鹉鱼一对，水族箱自提",  # 1 shares 红腹 only
    "老虎玩偶，水洗不掉色",  # 2 shares nothing useful
    "猛鱼水虎，吃食凶",  # 3 shares 水虎
    "价格: 20 AND 包邮 title:\"鱼\" (限时*)",  # 4 Lucene syntax as text
]
EN = [
    "red bellied piranha fry for sale, local pickup",
    "red bellied parrot fish pair, aquarium",
    "tiger plush toy, machine washable",
    "piranha tank setup with filter",
    'price: 20 AND free title:"fish" (limited*)',
]


@pytest.fixture(scope="module")
def zh_index(tmp_path_factory, snapshot_factory):
    snapshot = snapshot_factory(ZH, path=tmp_path_factory.mktemp("kwzh") / "s")
    return KeywordIndex.build(snapshot, progress=False)


@pytest.fixture(scope="module")
def en_index(tmp_path_factory, snapshot_factory):
    snapshot = snapshot_factory(EN, language="en", path=tmp_path_factory.mktemp("kwen") / "s")
    return KeywordIndex.build(snapshot, progress=False)


def _found(index, query, match):
    index.match = match
    try:
        return sorted(index.search(query, 10).positions.tolist())
    finally:
        index.match = "exact"


def test_exact_needs_the_whole_phrase_bm25_any_term(zh_index, en_index):
    assert _found(zh_index, "红腹水虎", "exact") == [0]
    assert _found(zh_index, "红腹水虎", "bm25") == [0, 1, 3]
    assert _found(en_index, "red bellied piranha", "exact") == [0]
    assert _found(en_index, "red bellied piranha", "bm25") == [0, 1, 3]


def test_bm25_ranks_the_full_match_first(zh_index):
    zh_index.match = "bm25"
    hits = zh_index.search("红腹水虎", 10)
    zh_index.match = "exact"
    assert hits.positions[0] == 0
    assert list(hits.scores) == sorted(hits.scores, reverse=True)


def test_lucene_syntax_is_text(zh_index, en_index):
    assert _found(en_index, 'title:"fish" (limited*)', "exact") == [4]
    assert _found(en_index, "AND", "bm25") == []  # a stop word, not an operator
    assert _found(zh_index, '20 AND 包邮 title:"鱼"', "exact") == [4]
    for query in ['"', "(", "*", "title:", "a OR", "\\", "[1 TO 5]", "~2", "^3", "&&", "||", "/re/"]:
        for match in ("exact", "bm25"):
            _found(en_index, query, match)  # no exception, no JVM abort


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "\x00\x01\x7f", "🐟🐟🔥", "\u200b"])
def test_empty_or_unsearchable_queries_give_no_hits(zh_index, query):
    assert len(zh_index.search(query, 10)) == 0


def test_very_long_query_is_cut_not_fatal(zh_index, en_index):
    # a query of 10,000+ characters is cut to its first MAX_QUERY_CHARS: what they find is found, the rest is
    # ignored (no error from Lucene's clause limit), in both match rules
    assert MAX_QUERY_CHARS < 10_000
    for index, head, noise in ((zh_index, "红腹水虎 ", "噪声 "), (en_index, "red bellied piranha ", "zzz ")):
        long = head + noise * 5000
        for match in ("bm25", "exact"):
            index.match = match
            try:
                found = index.search(long, 10).positions.tolist()
                assert found == index.search(long[:MAX_QUERY_CHARS], 10).positions.tolist()
                if match == "bm25":
                    assert found[0] == 0  # the listing of the query's real head ranks first
            finally:
                index.match = "exact"


def test_control_characters_inside_a_query_are_spaces(zh_index):
    assert sorted(zh_index.search("红腹\x00水虎", 10).positions.tolist()) == []  # split into 红腹 / 水虎
    zh_index.match = "bm25"
    assert 0 in zh_index.search("红腹\x00水虎", 10).positions.tolist()
    zh_index.match = "exact"


def test_query_builder_takes_any_text(zh_index, en_index):
    """Fuzzing found: a raw text of thousands of terms passed to ``lucene_query`` overflowed Lucene's
    1,024-clause limit (TooManyClauses); the builder now cleans and cuts its input like a search."""
    for index, text in ((zh_index, "红腹水虎" * 2500), (en_index, "piranha fish " * 1000)):
        assert index.lucene_query(text, "bm25") is not None
        assert index.lucene_query("\ud800\x00", "exact") is None  # a lone surrogate reaches no JVM call


def test_builds_are_identical_so_ties_break_the_same_way(synth_snapshot, tmp_path, monkeypatch):
    """Two builds, the second reading the texts from the Arrow column 97 at a time."""
    import numpy as np

    from qx_env import Snapshot
    from qx_env.snapshot import _texts

    orders = []
    for name in ("a", "b"):
        if name == "b":
            monkeypatch.setattr(_texts, "ITER_CHUNK", 97)
        snapshot = Snapshot.load(synth_snapshot.save(tmp_path / name))
        KeywordIndex.build(snapshot, progress=False)
        orders.append(np.load(tmp_path / name / "indexes" / "keyword" / "positions.npy", allow_pickle=False))
        hits = KeywordIndex.open(snapshot, match="bm25").search("包邮", 50)
        orders.append(hits.positions)
    np.testing.assert_array_equal(orders[0], orders[2])
    np.testing.assert_array_equal(orders[0], np.arange(len(synth_snapshot)))  # doc ids follow item order
    np.testing.assert_array_equal(orders[1], orders[3])


@pytest.mark.parametrize("match", ["exact", "bm25"])
def test_array_search_with_a_live_bitset_equals_reading_hits_one_by_one(indexed_snapshot, match):
    """qx.LiveSearch (one JVM call, removed items skipped inside Lucene) gives exactly the hits, scores
    and order of the per-hit path that over-fetches and filters, alone and in a batch on Java threads."""
    import numpy as np

    index = KeywordIndex.open(indexed_snapshot, match=match)
    assert index.live_search is not None, "javac 17+ is needed to compile indexes/java (see indexes/_java.py)"
    texts = indexed_snapshot.items.column("text").to_pylist()
    queries = [t[i:i + 4] for t in texts[:60:3] for i in (0, 5)] + ["", "转让", "no such words at all"]
    alive = np.random.default_rng(3).random(len(indexed_snapshot)) > 0.5
    fast = {(q, live is None): index.search(q, 50, live) for q in queries for live in (None, alive)}
    batch = index.batch_search(queries, 50, alive, threads=2)
    helper, index.live_search = index.live_search, None
    try:
        for (query, unfiltered), hits in fast.items():
            slow = index.search(query, 50, None if unfiltered else alive)
            assert hits.positions.tolist() == slow.positions.tolist(), query
            assert np.array_equal(hits.scores, slow.scores), query
        assert [h.positions.tolist() for h in batch] == [fast[(q, False)].positions.tolist() for q in queries]
        assert all(alive[h.positions].all() for h in batch) and sum(len(h) for h in batch) > 0
    finally:
        index.live_search = helper
