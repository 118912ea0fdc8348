"""Parsing a model's answer in the paper's format: an answer prefix, then queries separated by
commas (ASCII ``,`` or Chinese ``，``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: The paper's answer prefixes (Table 2 and Table 8, Chinese and English).
ANSWER_PREFIXES = {
    "zh": "提取的风险排查关键词集合如下，以英文逗号分隔：",
    "en": "The collection of the extracted keywords for risk exploration is as follows, separated by commas:",
}
# Variants seen in the paper's appendix and in model output: with or without 风险排查, either colon or
# comma kind, spaces.
_PREFIX_PATTERN = re.compile(
    r"^\s*(?:提取的(?:风险排查)?关键词集合如下\s*[，,]\s*以英文逗号分隔\s*[：:]"
    r"|the collection of the extracted keywords(?: for risk exploration)? is as follows\s*,\s*separated by commas\s*:)",
    re.IGNORECASE,
)
#: Eq. 1's qualified query length, least and most: 2 to 10 characters for Chinese, 1 to 4 words for
#: English (the paper's appendix). Mining (SFT data) and extractive decoding both read it here.
QUERY_LENGTH = {"zh": (2, 10), "en": (1, 4)}
_SEPARATORS = re.compile(r"[,，\n]")
_QUOTES = "\"'“”‘’「」"


@dataclass(frozen=True)
class ParsedAnswer:
    queries: tuple[str, ...]
    well_formed: bool  # the prefix was there and at least one query followed


def has_answer_prefix(text: str) -> bool:
    return bool(_PREFIX_PATTERN.match(text))


def trim_query(text: str) -> str:
    """Whitespace and quotes off both ends, until neither is left (``' "x" '`` -> ``x``)."""
    while (trimmed := text.strip().strip(_QUOTES)) != text:
        text = trimmed
    return text


def split_queries(text: str) -> tuple[str, ...]:
    """Comma-separated queries, stripped of whitespace and quotes (until neither is left at the
    ends, so a parsed answer parses to itself), empty ones dropped, first occurrence kept."""
    seen: dict[str, None] = {}
    for part in _SEPARATORS.split(text):
        query = trim_query(part)
        if query:
            seen.setdefault(query, None)
    return tuple(seen)


def search_queries(queries: Iterable[str]) -> list[str]:
    """The queries a search engine receives, in order: each normalised by
    :func:`indexes.clean_query` (control characters removed, cut to 512 characters), the ones with
    nothing searchable left (``""``, ``"\\x00"``, ``"\\x1b[D"``, ``"!!!"``) dropped, each kept once.
    The one rule for what counts as a query, in the environment and in the metrics."""
    from indexes import clean_query  # the retrieval stack loads on first use

    return list(dict.fromkeys(q for q in map(clean_query, queries) if q))


def query_length(query: str, language: str) -> int:
    """A query's length in eq. 1's unit: characters (Chinese) or words (English)."""
    return len(query) if language == "zh" else len(query.split())


def qualified_length(query: str, language: str) -> bool:
    """Whether a query has eq. 1's qualified length (:data:`QUERY_LENGTH`)."""
    least, most = QUERY_LENGTH[language]
    return least <= query_length(query, language) <= most


def parse_answer(text: str) -> ParsedAnswer:
    """Queries of a model answer. Without the prefix the answer is malformed: its text is still
    split on commas (lenient), but ``well_formed`` is False so a format penalty can apply."""
    match = _PREFIX_PATTERN.match(text)
    body = text[match.end():] if match else text
    queries = split_queries(body)
    return ParsedAnswer(queries, bool(match) and bool(queries))


def format_answer(queries, language: str = "zh") -> str:
    """The paper's answer text for a list of queries (what SFT targets look like)."""
    return ANSWER_PREFIXES[language] + ",".join(queries)
