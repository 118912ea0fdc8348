"""Everyday words of real Chinese text: which jieba words real benign (and toxic) texts carry, in
what share of the texts, and how far the synthetic marketplace's listings are from that.

A word's *document rate* is the share of texts in which jieba finds it at least once; a word here is
a jieba token of two or more Han characters (single characters such as 的, 我 are left out: a listing
is built of pieces, and a lone function character is no piece). The real corpora are those of
``vocab/noise.json`` (:func:`~qx_env.corpus.synth._noise_rates.real_corpora`): benign =
online_shopping_10_cats (all), COLD label 0, fbs_sms AD__* + Other; toxic = chineseharm_bench
violations, fbs_sms IL__* + FR__*. fbs_sms is pre-tokenized with spaces, removed between Han
characters before jieba.

``vocab/everyday.json`` holds the words the generator writes into listings
(:mod:`~qx_env.corpus.synth._everyday`), each with its group, its measured rates and their sources:

- *common*: the words of the pooled benign top 1,000 that at least :data:`EVERYDAY_SOURCES` of the
  three benign corpora (shopping reviews, social-media comments, SMS ads) use in at least
  :data:`EVERYDAY_FLOOR` of their texts: everyday words rather than one corpus's topic (房间, 黑人 and
  退订 are topics of one corpus each);
- *contacts, payment, shipping, food, greetings*: words chosen by meaning (:data:`GROUPS`), at their
  measured rates however small.

Beside the real rates it stores the synthetic rate before (``synth_before``: everyday words off,
``everyday_scale=0``) and the template's own rate with them on (``synth_base``): the everyday words
take part of a listing's length, so the templates write fewer details and their words less often.
``synth_base`` is solved from the rate observed with the words added at probability ``p``
(``observed = base + (1 - base) p``), :data:`ITERATIONS` times, starting from ``synth_before``; the
generator adds each word with what is missing (:func:`~qx_env.corpus.synth._everyday.insert_probability`). Run ``python -m qx_env.corpus.synth._everyday_rates [--data-dir DIR] [--write]``
to print the comparison (coverage of the real top 1,000, rate ratios) and, with ``--write``, rewrite
``vocab/everyday.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager, nullcontext
from pathlib import Path

from qx_env.corpus.synth._noise_rates import real_corpora

#: Least document rate in a benign corpus for a top-1,000 word to count as used there (0.1%) ...
EVERYDAY_FLOOR = 0.001
#: ... and the least number of benign corpora (of three genres) using it, for it to be everyday. All
#: three would leave out 不错, 觉得 and 但是 (14%, 3.6% and 4.6% of benign texts), which SMS ads do not use.
EVERYDAY_SOURCES = 2
#: Size of the real benign ranking compared with the synthetic listings.
TOP = 1000
#: Words chosen by meaning: the everyday vocabulary a toxic text shares with benign ones (contact,
#: payment, delivery, food, greeting words). Membership is a modelling choice; the rates are measured.
GROUPS = {
    "contacts": ("微信", "联系", "电话", "客服", "打电话", "号码", "私聊", "私信", "留言", "咨询", "回复", "手机号"),
    "payment": ("转账", "付款", "支付", "支付宝", "红包", "退款", "现金", "银行", "优惠", "便宜", "价格", "花钱"),
    "shipping": ("快递", "物流", "发货", "收到", "包装", "送货", "到货", "顺丰", "邮寄", "包邮"),
    "food": ("好吃", "味道", "新鲜", "口感", "水果", "吃饭", "好喝", "牛奶", "甜甜的"),
    "greetings": ("你好", "您好", "谢谢", "感谢", "欢迎", "亲爱", "早上好", "辛苦", "拜拜"),
}
#: Least texts a chosen word must occur in, pooled benign, for its rate to count as measured.
MIN_COUNT = 5
#: The synthetic corpus the base rates are measured on (everyday words off).
BASE_CONFIG = {"items": 20_000, "toxic_share": 0.05, "seed": 0}
#: Rounds of solving the template's own rate with everyday words on (the second moves it by < 0.5 points).
ITERATIONS = 2
_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]{2,}$")
_FBS_SPACE = re.compile(r"(?<=[\u4e00-\u9fff]) +(?=[\u4e00-\u9fff])")
EVERYDAY_FILE = Path(__file__).parent / "vocab" / "everyday.json"
#: Files of each measured corpus, as the entries' ``source`` names them.
FILES = {
    "online_shopping_10_cats (all)": "online_shopping_10_cats/online_shopping_10_cats.csv",
    "cold label 0 (train+dev+test)": "cold/{train,dev,test}.csv label 0",
    "fbs_sms AD__* + Other": "fbs_sms/AD__*.txt + fbs_sms/Other.txt",
    "chineseharm_bench violations": "chineseharm_bench/{博彩,低俗色情,欺诈,谩骂引战,黑产广告}.json",
    "fbs_sms IL__* + FR__*": "fbs_sms/IL__*.txt + fbs_sms/FR__*.txt",
}


def words_of(text: str, fbs: bool = False) -> set[str]:
    """The distinct jieba words (two or more Han characters) of ``text``."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    if fbs:
        text = _FBS_SPACE.sub("", text)
    return {w for w in jieba.lcut(text) if _HAN_WORD.match(w)}


def document_counts(texts: Iterable[str], fbs: bool = False) -> tuple[int, Counter]:
    """(texts, per word the number of texts carrying it)."""
    n, counts = 0, Counter()
    for text in texts:
        n += 1
        counts.update(words_of(text, fbs))
    return n, counts


def coverage(real: tuple[int, Counter], synth: tuple[int, Counter], top: int = TOP) -> dict:
    """How the synthetic document rates compare with the real top ``top`` words: how many occur at all,
    how many within a factor 3 of the real rate, and the median ratio synthetic/real."""
    (n_real, c_real), (n_synth, c_synth) = real, synth
    ranked = [w for w, _ in c_real.most_common(top)]
    ratios = sorted((c_synth[w] / n_synth) / (c_real[w] / n_real) for w in ranked)
    return {"words": len(ranked), "present": sum(c_synth[w] > 0 for w in ranked),
            "within_3x": sum(1 / 3 <= r <= 3 for r in ratios),
            "median_ratio": round(ratios[len(ratios) // 2], 3) if ratios else None}


def _pool(parts: Iterable[tuple[int, Counter]]) -> tuple[int, Counter]:
    n, counts = 0, Counter()
    for k, c in parts:
        n += k
        counts.update(c)
    return n, counts


@contextmanager
def _entries(entries: list[dict], sources: dict[str, dict]):
    """The generator reads ``entries`` and ``sources`` instead of ``vocab/everyday.json`` inside the block."""
    from qx_env.corpus.synth import _everyday

    original = _everyday.everyday_words, _everyday.everyday_sources
    _everyday.everyday_words = lambda language="zh": tuple(entries) if language == "zh" else ()
    _everyday.everyday_sources = lambda: sources
    try:
        yield
    finally:
        _everyday.everyday_words, _everyday.everyday_sources = original


def synthetic_counts(everyday_scale: float, config: dict = BASE_CONFIG, entries: list[dict] | None = None,
                     sources: dict[str, dict] | None = None) -> dict[str, tuple[int, Counter]]:
    """Document counts of a synthetic corpus's benign (label 0) and toxic listings (``entries``,
    ``sources``: the everyday words and their corpora to use instead of the stored ones)."""
    from qx_env.corpus.synth._generator import SynthConfig, synthesize

    with _entries(entries, sources or {}) if entries is not None else nullcontext():
        snapshot = synthesize(SynthConfig(**config, everyday_scale=everyday_scale), progress=False)
    texts = {0: [], 1: []}
    for text, label in zip(snapshot.texts, snapshot.labels):
        texts[int(label)].append(text)
    return {"benign": document_counts(texts[0]), "toxic": document_counts(texts[1])}


def solve_base(entries: list[dict], observed: dict[str, tuple[int, Counter]], sources: dict[str, dict]) -> None:
    """Set each entry's ``synth_base`` to the template's own rate given the rates ``observed`` with the
    words added: ``observed = base + (1 - base) p``, ``p`` the mean added probability over the sources."""
    from qx_env.corpus.synth._everyday import mean_probability

    for entry in entries:
        for role in ("benign", "toxic"):
            n, counts = observed[role]
            p = mean_probability(entry, role, entry["synth_base"][role], sources)
            rate = counts[entry["word"]] / n
            entry["synth_base"][role] = round(min(1.0, max(0.0, (rate - p) / (1 - p))), 5) if p < 1 else rate


def choose(per_corpus: dict[str, tuple[int, Counter]], roles: dict[str, str]) -> list[tuple[str, str]]:
    """(word, group) of the everyday vocabulary: the chosen groups' measured words, then the common ones."""
    benign = [name for name, role in roles.items() if role == "benign"]
    _, counts = _pool(per_corpus[name] for name in benign)
    chosen = [(w, group) for group, words in GROUPS.items() for w in words if counts[w] >= MIN_COUNT]
    grouped = {w for w, _ in chosen}
    for word, _ in counts.most_common(TOP):
        if word not in grouped and sum(per_corpus[name][1][word] / per_corpus[name][0] >= EVERYDAY_FLOOR
                                       for name in benign) >= EVERYDAY_SOURCES:
            chosen.append((word, "common"))
    return chosen


def real_counts(data_dir: Path) -> tuple[dict[str, tuple[int, Counter]], dict[str, str]]:
    """Document counts of each real corpus, and its role (benign or toxic)."""
    corpora = real_corpora(data_dir)
    per_corpus = {name: document_counts(texts, fbs) for name, (texts, fbs, _) in corpora.items()}
    return per_corpus, {name: role for name, (_, _, role) in corpora.items()}


def measure(per_corpus: dict[str, tuple[int, Counter]], roles: dict[str, str]) -> dict:
    """The content of ``vocab/everyday.json`` from :func:`real_counts`."""
    pooled = {role: _pool(per_corpus[n] for n, r in roles.items() if r == role) for role in ("benign", "toxic")}
    base = synthetic_counts(0.0)
    benign_names = [n for n, r in roles.items() if r == "benign"]
    entries = []
    for word, group in choose(per_corpus, roles):
        entry = {"word": word, "group": group,
                 "source": " + ".join(FILES[n] for n, r in roles.items() if r == "benign") + " (pooled)"}
        for role in ("benign", "toxic"):
            n, counts = pooled[role]
            entry[role] = {"rate": round(counts[word] / n, 5), "count": counts[word], "texts": n}
        entry["by_source"] = {FILES[name]: round(c[word] / k, 5) for name, (k, c) in per_corpus.items()}
        entry["synth_before"] = {role: round(base[role][1][word] / base[role][0], 5) for role in ("benign", "toxic")}
        entry["synth_base"] = dict(entry["synth_before"])
        entries.append(entry)
    sources = {FILES[name]: {"role": roles[name], "texts": k} for name, (k, _) in per_corpus.items()}
    for _ in range(ITERATIONS):
        solve_base(entries, synthetic_counts(1.0, entries=entries, sources=sources), sources)
    return {
        "measured": datetime.date.today().isoformat(),
        "sources": {FILES[name]: {"role": roles[name], "texts": k} for name, (k, _) in per_corpus.items()},
        "how": ("document rate: share of texts in which jieba finds the word (two or more Han characters; "
                "fbs_sms spaces between Han characters removed first); benign = "
                + ", ".join(n for n, r in roles.items() if r == "benign") + "; toxic = "
                + ", ".join(n for n, r in roles.items() if r == "toxic")
                + f"; synth_before: the rate in synthetic listings ({BASE_CONFIG}) with everyday_scale=0; "
                "synth_base: the templates' own rate with everyday words on (solved, see _everyday_rates.py)"),
        "selection": (f"groups by meaning ({', '.join(GROUPS)}; words in at least {MIN_COUNT} benign texts), then "
                      f"'common': words of the pooled benign top {TOP} in at least {EVERYDAY_FLOOR:.1%} of the "
                      f"texts of at least {EVERYDAY_SOURCES} of the {len(benign_names)} benign corpora"),
        "coverage_before": {role: coverage(pooled["benign"] if role == "benign" else pooled["toxic"], base[role])
                            for role in ("benign", "toxic")},
        "words": entries,
    }


def format_table(entries: list[dict], after: dict[str, tuple[int, Counter]] | None = None, limit: int = 40) -> str:
    """Words down: real benign rate, synthetic base rate, and (given) the rate after."""
    lines = [f"{'word':<8}{'group':<11}{'real':>8}{'before':>8}" + (f"{'after':>8}" if after else "")]
    for entry in entries[:limit]:
        row = (f"{entry['word']:<8}{entry['group']:<11}{entry['benign']['rate']:>8.2%}"
               f"{entry['synth_before']['benign']:>8.2%}")
        if after:
            n, counts = after["benign"]
            row += f"{counts[entry['word']] / n:>8.2%}"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--write", action="store_true", help=f"rewrite {EVERYDAY_FILE.name} with the measured rates")
    args = parser.parse_args(argv)
    per_corpus, roles = real_counts(args.data_dir)
    measured = measure(per_corpus, roles)
    if args.write:
        EVERYDAY_FILE.write_text(json.dumps(measured, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {EVERYDAY_FILE} ({len(measured['words'])} words)")
    from qx_env.corpus.synth._everyday import everyday_sources, everyday_words

    everyday_words.cache_clear()
    everyday_sources.cache_clear()
    after = synthetic_counts(1.0)
    real = _pool(per_corpus[name] for name, role in roles.items() if role == "benign")
    print(format_table(measured["words"], after, limit=len(measured["words"])))
    print(f"real benign top {TOP}: before {measured['coverage_before']['benign']}, after {coverage(real, after['benign'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
