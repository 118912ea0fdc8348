"""Camouflage operators: how toxic sellers disguise a risk phrase to dodge keyword search.

Each operator takes a phrase and a ``random.Random`` and returns a variant; operators are
registered per language in :data:`OPERATORS`. :func:`camouflage` applies a few of them and
guarantees the result differs from the input.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import lru_cache

Operator = Callable[[str, random.Random], str]

SYMBOLS = ("*", ".", "-", "丶", "|", "/", "_", "~", "·", "#")
EMOJI = ("❤", "☆", "✨", "🔥", "💰", "🐟", "👉", "🌸", "⭐", "✅", "💯", "🎁")


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _positions(phrase: str, predicate: Callable[[str], bool]) -> list[int]:
    return [i for i, ch in enumerate(phrase) if predicate(ch)]


@lru_cache(maxsize=1)
def _homophones() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Toneless pinyin of each common Han character, and the common characters per pinyin.

    "Common" is GB2312 level 1 (3,755 characters), so substitutes look like everyday text.
    """
    from pypinyin import Style, lazy_pinyin

    common = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                ch = bytes((high, low)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            common.append(ch)
    reading = dict(zip(common, lazy_pinyin(common, style=Style.NORMAL)))
    groups: dict[str, list[str]] = {}
    for ch, sound in reading.items():
        groups.setdefault(sound, []).append(ch)
    return reading, {sound: tuple(chars) for sound, chars in groups.items()}


def _pinyin(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(ch, style=Style.NORMAL)[0]


def homophone(phrase: str, rng: random.Random) -> str:
    """Swap a Han character for another with the same sound (红腹水虎 -> 红付水虎)."""
    reading, groups = _homophones()
    options = [i for i in _positions(phrase, _is_han) if len(groups.get(reading.get(phrase[i], ""), ())) > 1]
    if not options:
        return phrase
    i = rng.choice(options)
    substitutes = [c for c in groups[reading[phrase[i]]] if c != phrase[i]]
    return phrase[:i] + rng.choice(substitutes) + phrase[i + 1:]


def pinyin(phrase: str, rng: random.Random) -> str:
    """Write one Han character in pinyin (水虎 -> 水hu)."""
    options = _positions(phrase, _is_han)
    if not options:
        return phrase
    i = rng.choice(options)
    return phrase[:i] + _pinyin(phrase[i]) + phrase[i + 1:]


def initials(phrase: str, rng: random.Random) -> str:
    """Replace one Han character by its pinyin initial (微信 -> 微x)."""
    options = _positions(phrase, _is_han)
    if not options:
        return phrase
    i = rng.choice(options)
    return phrase[:i] + _pinyin(phrase[i])[:1] + phrase[i + 1:]


#: Characters written as their components, as sellers do to break a word ("加" -> "力口").
COMPONENTS = {
    "加": "力口", "好": "女子", "妹": "女未", "枪": "木仓", "烟": "火因", "证": "讠正", "码": "石马",
    "鲳": "鱼昌", "明": "日月", "林": "木木", "信": "亻言", "咖": "口加", "药": "艹约", "赌": "贝者",
    "票": "西示", "约": "纟勺", "陪": "阝咅", "彩": "采彡", "钱": "钅戋", "微": "彳山兀攵", "号": "口丂",
    "账": "贝长", "娱": "女吴", "棋": "木其", "牌": "片卑", "发": "友丶", "情": "忄青", "侣": "亻吕",
}


def components(phrase: str, rng: random.Random) -> str:
    """Split a character into its components (枪 -> 木仓)."""
    options = _positions(phrase, lambda ch: ch in COMPONENTS)
    if not options:
        return phrase
    i = rng.choice(options)
    return phrase[:i] + COMPONENTS[phrase[i]] + phrase[i + 1:]


def spacing(phrase: str, rng: random.Random) -> str:
    """Put spaces between the characters (毕业证 -> 毕 业 证)."""
    return " ".join(phrase.replace(" ", ""))


def symbol(phrase: str, rng: random.Random) -> str:
    """Insert a symbol inside the phrase (毕业证 -> 毕*业证)."""
    if len(phrase) < 2:
        return phrase + rng.choice(SYMBOLS)
    i = rng.randrange(1, len(phrase))
    return phrase[:i] + rng.choice(SYMBOLS) + phrase[i:]


def emoji(phrase: str, rng: random.Random) -> str:
    """Insert an emoji inside the phrase."""
    i = rng.randrange(1, len(phrase)) if len(phrase) > 1 else 1
    return phrase[:i] + rng.choice(EMOJI) + phrase[i:]


@lru_cache(maxsize=1)
def _to_traditional() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("s2t").convert


def traditional(phrase: str, rng: random.Random) -> str:
    """Write the phrase in traditional characters (发票 -> 發票)."""
    return _to_traditional()(phrase)


LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "l": "1", "g": "9"}
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}


def _swap_letter(table: dict[str, str]) -> Operator:
    def operator(phrase: str, rng: random.Random) -> str:
        options = _positions(phrase, lambda ch: ch.lower() in table)
        if not options:
            return phrase
        for i in rng.sample(options, k=min(len(options), rng.randint(1, 2))):
            phrase = phrase[:i] + table[phrase[i].lower()] + phrase[i + 1:]
        return phrase

    return operator


leet = _swap_letter(LEET)
leet.__doc__ = "Replace letters by digits (piranha -> p1r4nha)."
homoglyph = _swap_letter(HOMOGLYPHS)
homoglyph.__doc__ = "Replace Latin letters by Cyrillic look-alikes."


def misspell(phrase: str, rng: random.Random) -> str:
    """Drop, double or swap a letter (piranha -> piranah)."""
    options = _positions(phrase, str.isalpha)
    if len(options) < 3:
        return phrase
    i = rng.choice(options[1:-1])
    kind = rng.randrange(3)
    if kind == 0:
        return phrase[:i] + phrase[i + 1:]
    if kind == 1:
        return phrase[:i] + phrase[i] + phrase[i:]
    return phrase[:i] + phrase[i + 1] + phrase[i] + phrase[i + 2:]


def letter_spacing(phrase: str, rng: random.Random) -> str:
    """Space out the letters of one word (piranha -> p i r a n h a)."""
    words = phrase.split(" ")
    i = max(range(len(words)), key=lambda k: len(words[k]))
    words[i] = " ".join(words[i])
    return " ".join(words)


OPERATORS: dict[str, dict[str, Operator]] = {
    "zh": {
        "homophone": homophone,
        "pinyin": pinyin,
        "initials": initials,
        "components": components,
        "spacing": spacing,
        "symbol": symbol,
        "emoji": emoji,
        "traditional": traditional,
    },
    "en": {
        "leet": leet,
        "homoglyph": homoglyph,
        "misspell": misspell,
        "spacing": letter_spacing,
        "symbol": symbol,
        "emoji": emoji,
    },
}


def camouflage(phrase: str, language: str, rng: random.Random, n_operators: int = 1,
               operators: tuple[str, ...] | None = None) -> tuple[str, list[str]]:
    """Apply ``n_operators`` randomly chosen operators; return the variant and the operator names.

    The variant always differs from ``phrase`` (an operator that changes nothing is skipped, and
    symbol insertion, which always changes the text, is the last resort). ``operators`` restricts
    the choice to those names; then the symbol fallback applies only if it is among them (else the
    phrase may come back unchanged).
    """
    names = sorted(operators or OPERATORS[language])
    operators = {name: OPERATORS[language][name] for name in names}
    variant, used = phrase, []
    for _ in range(n_operators):
        for name in rng.sample(names, k=len(names)):
            changed = operators[name](variant, rng)
            if changed != variant:
                variant = changed
                used.append(name)
                break
    if variant == phrase and "symbol" in names:
        variant, used = symbol(phrase, rng), ["symbol"]
    return variant, used
