"""The paper's answer format: prefix, both comma kinds, malformed answers."""

from __future__ import annotations

from policies._grounded import spans_of
from qx_env.parsers import ANSWER_PREFIXES, format_answer, parse_answer, qualified_length


def test_round_trip_both_languages():
    for language in ("zh", "en"):
        parsed = parse_answer(format_answer(["红腹水虎", "猛鱼 水hu"], language))
        assert parsed.queries == ("红腹水虎", "猛鱼 水hu") and parsed.well_formed


def test_both_comma_kinds_and_the_appendix_prefix():
    parsed = parse_answer("提取的关键词集合如下,以英文逗号分隔:红腹,红腹水虎，腹水虎, 红腹 ")
    assert parsed.queries == ("红腹", "红腹水虎", "腹水虎") and parsed.well_formed


def test_malformed_answers():
    assert not parse_answer("红腹,水虎").well_formed
    assert parse_answer("红腹,水虎").queries == ("红腹", "水虎")
    assert parse_answer(ANSWER_PREFIXES["zh"]) .queries == ()
    assert not parse_answer(ANSWER_PREFIXES["en"] + " , ,").well_formed
    assert not parse_answer("").well_formed


def test_a_parsed_answer_parses_to_itself():
    """Fuzzing found: ``0" "`` parsed to ``0"``, which parsed again to ``0``; quotes and spaces are
    now trimmed until neither is left at the ends."""
    for text in ('0" "', " \" 'x\" ", "「 a 」,'b '"):
        queries = parse_answer(text).queries
        assert queries and parse_answer(format_answer(queries)).queries == queries
    assert parse_answer('0" "').queries == ("0",)


def test_search_queries_is_the_one_rule_for_what_is_a_query():
    from qx_env.parsers import search_queries

    assert search_queries(["", "\x00", "\x1b[D", "  \t", "!!!", "a"]) == []
    assert search_queries(["转让\x00", " 转让 ", "转让", "加\x1b微", "x" * 600]) == ["转让", "加 微", "x" * 512]


def test_eq1_length_is_one_rule_for_mining_and_extractive_decoding():
    """Chinese counts characters (2 to 10), English words (1 to 4); grounded decoding keeps the same."""
    assert qualified_length("红腹", "zh") and not qualified_length("红", "zh")
    assert not qualified_length("一二三四五六七八九十一", "zh")
    assert qualified_length("piranha", "en") and qualified_length("red belly piranha fish", "en")
    assert not qualified_length("a very long english phrase", "en") and not qualified_length(" ", "en")
    text = "Red belly piranha fish for sale, a very long english phrase here"
    queries = ["red belly piranha fish", "a very long english phrase", "piranha", "not in it"]
    assert spans_of(text, queries, "en") == [q for q in queries if q.lower() in text.lower() and qualified_length(q, "en")]
    assert spans_of(text, queries, "en") == ["red belly piranha fish", "piranha"]
