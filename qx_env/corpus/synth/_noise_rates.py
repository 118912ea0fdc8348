"""Surface noise of real text: how often benign and toxic Chinese (and English) texts carry emoji,
symbols, Latin runs, traditional characters, digits, handles, URLs, spaces between Han characters
and repeated punctuation.

The same detectors (:data:`DETECTORS`) measure the real corpora in ``shared/data`` and the synthetic
snapshots, so the generator's noise rates (``vocab/noise.json``) can be checked against the text
they were measured on. Run ``python -m qx_env.corpus.synth._noise_rates [--data-dir DIR] [--write]``
to print the table (and, with ``--write``, rewrite ``vocab/noise.json``).

fbs_sms is pre-processed: punctuation, symbols and emoji are stripped, words are separated by
spaces, and contacts are masked (NAME, PLACE, URL, CELLPHONE, PHONE, WECHAT, QQ, HOTLINE, DIGIT...).
Its texts therefore count only for the features that survive the pre-processing (Latin runs outside
the mask tokens, traditional characters, digits, handles and URLs, a masked token counting as one
occurrence); the others leave fbs_sms out of their denominator.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

#: Emoji: the pictographic planes and the dingbats/miscellaneous-symbol blocks that render as emoji.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2700-\u27bf\u2b50\u2b55\u2600-\u26ff\u2300-\u23ff]")
#: Decorative marks that are not ordinary sentence punctuation (。，！？、：；“”（）《》 are not).
_DECORATIVE = set("【】〖〗「」『』〔〕~～丶|｜_＿*＊·•※^◆◇○●□■△▲▽▼→←↑↓√×÷＋+=＝<>＜＞\\／")
_LATIN = re.compile(r"[A-Za-z]+")
_DIGITS = re.compile(r"\d+")
#: Contact handles as the graph index finds them (indexes/_graph.py HANDLE_PATTERN), repeated here
#: so this module does not import the index package.
_HANDLE = re.compile(
    r"(?:https?://)?(?:[a-z0-9-]+\.)+(?:com|cn|net|cc|vip|top|xyz|me|io|org)(?:/[\w./-]*)?"
    r"|(?<![\dA-Za-z])[A-Za-z_]{0,12}\d{6,}(?![\d])", re.IGNORECASE,
)
_URL = re.compile(r"https?://|www\.|(?:[a-z0-9-]+\.)+(?:com|cn|net|cc|vip|top|xyz|me|io|org)\b", re.IGNORECASE)
_CJK_SPACE = re.compile(r"[\u4e00-\u9fff][ \u3000]+[\u4e00-\u9fff]")
#: The same punctuation mark twice or more (！！, 。。。, ..., ??, ~~), or the ellipsis character.
_REPEATED = re.compile(r"([!！?？.。,，~～、])\1+|…")
#: fbs_sms mask tokens (a run of them can be glued: CELLPHONEWECHAT).
_FBS_MASK = re.compile(r"(?:NAME|PLACE|URL|CELLPHONE|PHONE|WECHAT|QQ|HOTLINE|DIGIT|BANK|EMAIL)+")
_FBS_HANDLE = re.compile(r"CELLPHONE|PHONE|WECHAT|QQ|HOTLINE")


@cache
def _t2s() -> Callable[[str], str]:
    import opencc

    return opencc.OpenCC("t2s").convert


def _is_symbol(ch: str) -> bool:
    return ch in _DECORATIVE or (unicodedata.category(ch)[0] == "S" and not _EMOJI.match(ch)
                                  and ch not in "$¥￥£€`")


def _traditional(text: str) -> list[str]:
    """Characters of ``text`` that OpenCC's t2s changes (traditional-only forms)."""
    han = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
    simplified = _t2s()(han)
    if len(simplified) != len(han):  # a phrase conversion changed the length: compare per character
        return [ch for ch in han if _t2s()(ch) != ch]
    return [a for a, b in zip(han, simplified) if a != b]


#: feature -> function(text, fbs) returning the occurrences in ``text`` (None: not measurable on
#: fbs_sms, whose pre-processing removed the feature).
def _emoji(text: str, fbs: bool) -> list[str] | None:
    return None if fbs else _EMOJI.findall(text)


def _symbol(text: str, fbs: bool) -> list[str] | None:
    return None if fbs else [ch for ch in text if _is_symbol(ch)]


def _latin(text: str, fbs: bool) -> list[str]:
    return _LATIN.findall(_FBS_MASK.sub(" ", text) if fbs else text)


def _pinyin_like(text: str, fbs: bool) -> list[str]:
    """Lower-case Latin runs of three or more letters (hao, yyds, xswl; also English words)."""
    return [w for w in _latin(text, fbs) if len(w) >= 3 and w.islower()]


def _trad(text: str, fbs: bool) -> list[str]:
    return _traditional(text)


def _digits(text: str, fbs: bool) -> list[str]:
    if fbs:
        return _DIGITS.findall(text) + re.findall("DIGIT", text)
    return _DIGITS.findall(text)


def _handle(text: str, fbs: bool) -> list[str]:
    if fbs:
        return _FBS_HANDLE.findall(text) + _HANDLE.findall(_FBS_MASK.sub(" ", text))
    return _HANDLE.findall(text)


def _url(text: str, fbs: bool) -> list[str]:
    if fbs:
        return re.findall("URL", text) + _URL.findall(_FBS_MASK.sub(" ", text))
    return _URL.findall(text)


def _cjk_space(text: str, fbs: bool) -> list[str] | None:
    return None if fbs else _CJK_SPACE.findall(text)


def _repeated(text: str, fbs: bool) -> list[str] | None:
    return None if fbs else [m.group(0) for m in _REPEATED.finditer(text)]


def _contact(text: str, fbs: bool) -> list[str]:
    """A handle or a URL (the contact the graph index can read)."""
    return _handle(text, fbs) + _url(text, fbs)


DETECTORS: dict[str, Callable[[str, bool], list[str] | None]] = {
    "emoji": _emoji,
    "symbol": _symbol,
    "latin": _latin,
    "pinyin_like": _pinyin_like,
    "traditional": _trad,
    "digits": _digits,
    "handle": _handle,
    "url": _url,
    "contact": _contact,
    "cjk_space": _cjk_space,
    "repeated_punct": _repeated,
}
#: Features whose occurrences the generator's noise draws from the real inventory (most frequent first).
INVENTORY_FEATURES = ("emoji", "symbol", "latin", "repeated_punct")


def marks(text: str, fbs: bool = False) -> dict[str, list[str] | None]:
    """Occurrences of each feature in ``text``."""
    return {name: detect(text, fbs) for name, detect in DETECTORS.items()}


def rates(texts: Iterable[str], fbs: bool = False) -> dict[str, dict]:
    """Per feature: texts with at least one occurrence (``count``), texts measured (``denominator``),
    their ratio (``rate``), mean occurrences in a text that has one, and the occurrence counts."""
    counts = {name: 0 for name in DETECTORS}
    totals = {name: 0 for name in DETECTORS}
    denominators = {name: 0 for name in DETECTORS}
    inventory: dict[str, Counter] = {name: Counter() for name in INVENTORY_FEATURES}
    for text in texts:
        for name, found in marks(text, fbs).items():
            if found is None:
                continue
            denominators[name] += 1
            if found:
                counts[name] += 1
                totals[name] += len(found)
                if name in inventory:
                    inventory[name].update(found)
    return {
        name: {"count": counts[name], "denominator": denominators[name],
               "rate": counts[name] / denominators[name] if denominators[name] else None,
               "per_text": totals[name] / counts[name] if counts[name] else 0.0,
               **({"inventory": inventory[name]} if name in inventory else {})}
        for name in DETECTORS
    }


def merge(parts: Iterable[dict[str, dict]]) -> dict[str, dict]:
    """Pool the rates of several corpora (sums of counts and denominators)."""
    parts = list(parts)
    pooled = {}
    for name in DETECTORS:
        count = sum(p[name]["count"] for p in parts)
        denominator = sum(p[name]["denominator"] for p in parts)
        total = sum(p[name]["count"] * p[name]["per_text"] for p in parts)
        row = {"count": count, "denominator": denominator, "rate": count / denominator if denominator else None,
               "per_text": total / count if count else 0.0}
        if name in INVENTORY_FEATURES:
            row["inventory"] = sum((p[name]["inventory"] for p in parts), Counter())
        pooled[name] = row
    return pooled


# ---- the real corpora -----------------------------------------------------------------------
HARM_TOXIC = ("博彩", "低俗色情", "欺诈", "谩骂引战", "黑产广告")
FBS_BENIGN = ("AD__Loan", "AD__Network_service", "AD__Other", "AD__Real_estate", "AD__Retail", "Other")
FBS_TOXIC = ("IL__Escort_service", "IL__Fake_ID_and_invoice", "IL__Gambling", "IL__Political_propaganda",
             "FR__Financial", "FR__Other", "FR__Phishing_Bank", "FR__Phishing_Other")


def _csv_column(path: Path, column: str, keep: Callable[[dict], bool] = lambda row: True) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row[column] for row in csv.DictReader(handle) if row.get(column) and keep(row)]


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def real_corpora(data_dir: Path) -> dict[str, tuple[list[str], bool, str]]:
    """name -> (texts, is_fbs, role) for each measured corpus; role is benign or toxic."""
    corpora: dict[str, tuple[list[str], bool, str]] = {
        "online_shopping_10_cats (all)": (
            _csv_column(data_dir / "online_shopping_10_cats/online_shopping_10_cats.csv", "review"), False, "benign"),
        "cold label 0 (train+dev+test)": (
            [t for split in ("train", "dev", "test")
             for t in _csv_column(data_dir / f"cold/{split}.csv", "TEXT", lambda r: r["label"] == "0")],
            False, "benign"),
        "fbs_sms AD__* + Other": (
            [t for stem in FBS_BENIGN for t in _lines(data_dir / f"fbs_sms/{stem}.txt")], True, "benign"),
        "chineseharm_bench violations": (
            [r["文本"] for label in HARM_TOXIC
             for r in json.loads((data_dir / f"chineseharm_bench/{label}.json").read_text(encoding="utf-8"))],
            False, "toxic"),
        "fbs_sms IL__* + FR__*": (
            [t for stem in FBS_TOXIC for t in _lines(data_dir / f"fbs_sms/{stem}.txt")], True, "toxic"),
    }
    return corpora


def english_ham(data_dir: Path) -> tuple[list[str], list[str]]:
    """(ham, spam) texts of the UCI SMS Spam Collection."""
    ham, spam = [], []
    for line in (data_dir / "sms_spam_collection_uci/SMSSpamCollection").read_text(encoding="utf-8").splitlines()[1:]:
        label, _, text = line.partition("\t")
        (ham if label == "ham" else spam).append(text)
    return ham, spam


#: A contact offered in a text, written plainly or disguised (加V, 薇, +Q, 扣扣, 私聊, digit runs...).
CONTACT_CUE = re.compile(
    r"(?:加|\+|➕)\s*(?:v|V|微|薇|威|q|Q|扣|企鹅)|微信|薇信|[vV]信|vx|VX|wx|WX|qq|QQ|扣扣|企鹅|电话|手机|tel"
    r"|私聊|私信|联系|[0-9]{5,}|[零一二三四五六七八九]{6,}|[0-9][ \-.*_][0-9][ \-.*_][0-9]"
)


def contact_disguise(texts: Iterable[str]) -> dict:
    """Texts offering a contact (:data:`CONTACT_CUE`), and how many of those carry a handle or URL
    the graph index's pattern reads (the rest are disguised: spaced or Chinese-numeral digits,
    handles split by symbols, or 'message me' with the handle elsewhere)."""
    total = offered = plain = 0
    for text in texts:
        total += 1
        if CONTACT_CUE.search(text):
            offered += 1
            plain += bool(_HANDLE.search(text))
    return {"texts": total, "offering_contact": offered, "offer_rate": round(offered / total, 5),
            "plain": plain, "plain_share": round(plain / offered, 5) if offered else None}


def singleton_share(texts: list[str], threshold: float = 0.5) -> dict:
    """Share of ``texts`` without a near-duplicate: no other text at character 2-3-gram TF-IDF cosine
    ``threshold`` or more (spaces removed first, for fbs_sms)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import NearestNeighbors

    texts = [t.replace(" ", "") for t in texts]
    matrix = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True).fit_transform(texts)
    distances, _ = NearestNeighbors(n_neighbors=2, metric="cosine").fit(matrix).kneighbors(matrix)
    alone = int((1 - distances[:, 1] < threshold).sum())
    return {"texts": len(texts), "singletons": alone, "share": round(alone / len(texts), 5),
            "how": f"no other text at character 2-3-gram TF-IDF cosine >= {threshold}"}


def measure(data_dir: Path, inventory_size: int = 80) -> dict:
    """The content of ``vocab/noise.json``: per corpus and pooled benign/toxic rates, with sources."""
    corpora = real_corpora(data_dir)
    per_corpus = {name: rates(texts, fbs) for name, (texts, fbs, _) in corpora.items()}
    ham, spam = english_ham(data_dir)
    per_corpus["sms_spam_collection_uci ham"] = rates(ham)
    per_corpus["sms_spam_collection_uci spam"] = rates(spam)
    roles = {name: role for name, (_, _, role) in corpora.items()}

    def pooled(role: str) -> dict[str, dict]:
        return merge(per_corpus[name] for name, r in roles.items() if r == role)

    def clean(table: dict[str, dict], sources: list[str]) -> dict[str, dict]:
        out = {}
        for name, row in table.items():
            entry = {"rate": round(row["rate"], 5) if row["rate"] is not None else None,
                     "count": row["count"], "denominator": row["denominator"],
                     "per_text": round(row["per_text"], 3), "sources": sources}
            if "inventory" in row:
                entry["inventory"] = dict(row["inventory"].most_common(inventory_size))
            out[name] = entry
        return out

    benign_sources = [n for n, r in roles.items() if r == "benign"]
    toxic_sources = [n for n, r in roles.items() if r == "toxic"]
    harm = corpora["chineseharm_bench violations"][0]
    return {
        "measured": datetime.date.today().isoformat(),
        "contact_disguise": {"chineseharm_bench violations": contact_disguise(harm)},
        "singletons": {"fbs_sms IL__* + FR__*": singleton_share(corpora["fbs_sms IL__* + FR__*"][0]),
                       "chineseharm_bench violations": singleton_share(harm)},
        "how": "per text: a text counts once for a feature if it has at least one occurrence "
               "(qx_env/corpus/synth/_noise_rates.py DETECTORS); fbs_sms counts only for latin, pinyin_like, "
               "traditional, digits, handle and url (its punctuation, symbols and emoji were stripped; a "
               "masked CELLPHONE/PHONE/WECHAT/QQ/HOTLINE token is a handle, URL a url, DIGIT a digit run)",
        "zh": {"benign": clean(pooled("benign"), benign_sources), "toxic": clean(pooled("toxic"), toxic_sources)},
        "en": {"benign": clean(per_corpus["sms_spam_collection_uci ham"], ["sms_spam_collection_uci ham"]),
               "toxic": clean(per_corpus["sms_spam_collection_uci spam"], ["sms_spam_collection_uci spam"])},
        "per_corpus": {name: {f: {"rate": round(r["rate"], 5) if r["rate"] is not None else None,
                                  "count": r["count"], "denominator": r["denominator"]}
                              for f, r in table.items()}
                       for name, table in per_corpus.items()},
    }


def format_table(columns: dict[str, dict[str, dict]]) -> str:
    """A text table: features down, one column per named rate table."""
    names = list(columns)
    width = max(14, *(len(n) for n in names))
    lines = [f"{'feature':<15}" + "".join(f"{n[:width]:>{width + 2}}" for n in names)]
    for feature in DETECTORS:
        cells = []
        for name in names:
            row = columns[name].get(feature)
            cells.append("-" if row is None or row["rate"] is None else f"{row['rate']:.2%}")
        lines.append(f"{feature:<15}" + "".join(f"{c:>{width + 2}}" for c in cells))
    return "\n".join(lines)


NOISE_FILE = Path(__file__).parent / "vocab" / "noise.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--write", action="store_true", help=f"rewrite {NOISE_FILE.name} with the measured rates")
    args = parser.parse_args(argv)
    measured = measure(args.data_dir)
    print(format_table({**measured["per_corpus"], "zh benign (pooled)": measured["zh"]["benign"],
                        "zh toxic (pooled)": measured["zh"]["toxic"]}))
    if args.write:
        existing = json.loads(NOISE_FILE.read_text(encoding="utf-8")) if NOISE_FILE.exists() else {}
        existing.update({"rates": measured})
        NOISE_FILE.write_text(json.dumps(existing, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {NOISE_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
