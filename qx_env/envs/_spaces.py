"""A Unicode text space: Gymnasium's ``Text`` rejects characters outside its charset, so report
texts in Chinese or with emoji would not be members of it."""

from __future__ import annotations

from typing import Any

from gymnasium.spaces import Text

#: Characters :meth:`UnicodeText.sample` draws from: ASCII letters and digits, common Chinese, emoji.
SAMPLE_CHARSET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
    "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长"
    "鱼证书票约陪转让包邮自提同城全新二手出售❤🔥🐟✨💰"
)


class UnicodeText(Text):
    """Any ``str`` of ``min_length`` to ``max_length`` characters; samples from :data:`SAMPLE_CHARSET`."""

    def __init__(self, max_length: int, *, min_length: int = 0, seed: Any = None) -> None:
        super().__init__(max_length, min_length=min_length, charset=SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnicodeText) and (self.min_length, self.max_length) == (
            other.min_length, other.max_length)

    __hash__ = Text.__hash__
