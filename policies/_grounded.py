"""Extractive decoding: every query of an answer is a span of the report.

The task is query *extraction*; a free model can still answer with a phrase the report does not
contain (a small one collapses onto one phrase that hits anywhere). With ``grounded`` decoding the
answer prefix is given and, token by token, the text between separators must stay a substring of
the report (ASCII case ignored), starting at a character, of the length eq. 1 qualifies (2 to 10
characters for Chinese, 1 to 4 words for English: :data:`qx_env.parsers.QUERY_LENGTH`), so the
model only chooses which spans to return and where they end. Works on byte level, so tokens that
split a character are handled; any byte-level BPE tokenizer (Qwen, the tiny model) or one whose
tokens decode on their own.
"""

from __future__ import annotations

import re
from functools import cache

from qx_env.parsers import QUERY_LENGTH, qualified_length, query_length

_SEPARATOR = re.compile("[,\n]|，".encode())
_TRIM = b" \t\"'"


@cache
def _byte_decoder() -> dict[str, int]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    return {char: byte for byte, char in bytes_to_unicode().items()}


def token_bytes(tokenizer) -> list[bytes | None]:
    """The bytes each token id stands for; None for special tokens."""
    decoder = _byte_decoder()
    special = set(tokenizer.all_special_ids)
    pieces: list[bytes | None] = [None] * len(tokenizer)
    for token, index in tokenizer.get_vocab().items():
        if index in special or index >= len(pieces):
            continue
        if all(char in decoder for char in token):
            pieces[index] = bytes(decoder[char] for char in token)
        else:  # not byte-level (e.g. sentencepiece): the token's own text
            pieces[index] = tokenizer.convert_tokens_to_string([token]).encode()
    return pieces


def _started(query: bytes, text: bytes, most: int, language: str) -> bool:
    """A query being written: a span of ``text`` that starts at a character and is not too long."""
    stripped = query.lstrip(_TRIM)
    if len(query) - len(stripped) > 1:  # one space after a comma, not a run of them
        return False
    query = stripped
    if query[:1] and query[0] & 0xC0 == 0x80:  # a UTF-8 continuation byte: mid-character
        return False
    return query in text and query_length(query.decode(errors="ignore"), language) <= most


def _finished(query: bytes, text: bytes, least: int, most: int, language: str) -> bool:
    """A query that may end here: a span of ``text`` of whole characters, of a qualified length."""
    query = query.strip(_TRIM)
    if not _started(query, text, most, language):
        return False
    try:
        return query_length(query.decode(), language) >= least
    except UnicodeDecodeError:
        return False


def spans_of(text: str, queries: list[str], language: str = "zh") -> list[str]:
    """The queries that are spans of ``text`` of a qualified length (decoding can end in a query
    that falls short: cut by ``max_new_tokens``, or a span with no way on)."""
    lowered = text.lower()
    return [q for q in queries if q.lower() in lowered and qualified_length(q, language) and "\ufffd" not in q]


class SpanConstraint:
    """``prefix_allowed_tokens_fn`` for ``generate`` over a batch of report texts whose prompts end
    with the answer prefix and are ``prompt_length`` tokens long (left-padded); ``per_text`` rows
    of ``input_ids`` belong to each text when sampling several answers."""

    def __init__(self, tokenizer, texts: list[str], prompt_length: int, per_text: int = 1,
                 language: str = "zh", pieces: list[bytes | None] | None = None) -> None:
        self.language = language
        self.least, self.most = QUERY_LENGTH[language]
        self.pieces = token_bytes(tokenizer) if pieces is None else pieces  # pass them to reuse across batches
        self.eos, self.pad = tokenizer.eos_token_id, tokenizer.pad_token_id
        self.prompt_length, self.per_text = prompt_length, per_text
        self.texts = [text.lower().encode() for text in texts]
        # tokens that can occur at all: spans of the text, alone or around a separator
        self.candidates = [
            [i for i, piece in enumerate(self.pieces)
             if piece and all(part.strip(_TRIM) in text for part in _SEPARATOR.split(piece.lower()))]
            for text in self.texts
        ]

    def __call__(self, batch_id: int, input_ids) -> list[int]:
        row = batch_id // self.per_text
        generated = input_ids[self.prompt_length:].tolist()
        if self.eos in generated:
            return [self.eos if self.pad is None else self.pad]
        written = b"".join(self.pieces[i] or b"" for i in generated).lower()
        current = _SEPARATOR.split(written)[-1]
        text = self.texts[row]
        allowed = [i for i in self.candidates[row] if self._fits(current + self.pieces[i].lower(), text)]
        return allowed + [self.eos] if _finished(current, text, self.least, self.most, self.language) else allowed or [self.eos]

    def _fits(self, tail: bytes, text: bytes) -> bool:
        """Every finished query of ``tail`` may end, and the one being written may go on."""
        *finished, current = _SEPARATOR.split(tail)
        return (all(_finished(part, text, self.least, self.most, self.language) for part in finished)
                and _started(current, text, self.most, self.language))
