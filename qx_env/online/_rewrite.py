"""Rewording a listing: its phrases replaced by variants, and a span marked on the old text (an auditor's
annotation) carried to the same place in the new one."""

from __future__ import annotations

from collections.abc import Mapping


def _occurrences(text: str, replacements: Mapping[str, str]) -> list[tuple[int, int, str]]:
    """Non-overlapping ``(start, end, variant)`` of the phrases in ``text``, longer phrases first."""
    taken: list[tuple[int, int, str]] = []
    for phrase in sorted(replacements, key=lambda p: (-len(p), p)):
        if not phrase:
            continue
        start = text.find(phrase)
        while start >= 0:
            end = start + len(phrase)
            if all(end <= s or start >= e for s, e, _ in taken):
                taken.append((start, end, replacements[phrase]))
            start = text.find(phrase, end)
    return sorted(taken)


class Rewrite:
    """``text`` with every occurrence of each phrase of ``replacements`` replaced by its variant."""

    def __init__(self, text: str, replacements: Mapping[str, str]) -> None:
        self.source = text
        self.segments = _occurrences(text, replacements)
        pieces, cursor = [], 0
        self._new_starts = []
        length = 0
        for start, end, variant in self.segments:
            pieces.append(text[cursor:start])
            length += start - cursor
            self._new_starts.append(length)
            pieces.append(variant)
            length += len(variant)
            cursor = end
        pieces.append(text[cursor:])
        self.text = "".join(pieces)

    def _map(self, index: int) -> int:
        """The new-text index of old-text ``index`` (inside a replaced phrase: proportionally)."""
        shift = 0
        for (start, end, variant), new_start in zip(self.segments, self._new_starts):
            if index <= start:
                break
            if index < end:
                return new_start + round((index - start) * len(variant) / (end - start))
            shift = new_start + len(variant) - end
        return index + shift

    def span(self, marked: str) -> str:
        """``marked`` (a span of the old text) as it reads in the new text; itself where it is not in the old
        text or touches no replaced phrase."""
        start = self.source.find(marked) if marked else -1
        if start < 0:
            return marked
        end = start + len(marked)
        if all(end <= s or start >= e for s, e, _ in self.segments):
            return marked
        moved = self.text[self._map(start):self._map(end)].strip()
        return moved or marked
