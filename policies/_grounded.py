"""Extractive decoding: every query of an answer is a span of the report.

The task is query *extraction*; a free model can still answer with a phrase the report does not
contain (a small one collapses onto one phrase that hits anywhere). With ``grounded`` decoding the
answer prefix is given and, token by token, the text between separators must stay a substring of
the report (ASCII case ignored), so the model only chooses which spans to return. Works on byte
level, so tokens that split a character are handled; any byte-level BPE tokenizer (Qwen, the tiny
model) or one whose tokens decode on their own.
"""

from __future__ import annotations

import re
from functools import cache

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


def _whole_characters(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _tail_fits(tail: bytes, text: bytes) -> bool:
    """Every finished query of ``tail`` is whole characters of ``text``, and the query being
    written starts a span of it."""
    *finished, current = _SEPARATOR.split(tail)
    return (all(part.strip(_TRIM) in text and _whole_characters(part) for part in finished)
            and current.lstrip(_TRIM) in text)


def spans_of(text: str, queries: list[str]) -> list[str]:
    """The queries that are spans of ``text`` (a grounded answer cut by ``max_new_tokens`` can end
    in a partial one)."""
    lowered = text.lower()
    return [q for q in queries if q.lower() in lowered and "\ufffd" not in q]


class SpanConstraint:
    """``prefix_allowed_tokens_fn`` for ``generate`` over a batch of report texts whose prompts end
    with the answer prefix and are ``prompt_length`` tokens long (left-padded); ``per_text`` rows
    of ``input_ids`` belong to each text when sampling several answers."""

    def __init__(self, tokenizer, texts: list[str], prompt_length: int, per_text: int = 1) -> None:
        self.pieces = token_bytes(tokenizer)
        self.eos, self.pad = tokenizer.eos_token_id, tokenizer.pad_token_id
        self.prompt_length, self.per_text = prompt_length, per_text
        self.texts = [text.lower().encode() for text in texts]
        # tokens that can occur at all: in the text, or separators
        self.candidates = [
            [i for i, piece in enumerate(self.pieces) if piece and _tail_fits(piece.lower(), text)]
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
        allowed = [i for i in self.candidates[row] if _tail_fits(current + self.pieces[i].lower(), text)]
        can_stop = written.strip(_TRIM) and _whole_characters(current)
        return allowed + [self.eos] if can_stop else allowed or [self.eos]
