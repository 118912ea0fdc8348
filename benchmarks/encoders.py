"""Text encoders of the embedding index on real text: speed, paraphrase retrieval, short query -> source, junk.

``python -m benchmarks.encoders`` prints Markdown tables and writes ``results.json`` and
``table.md`` to ``reports/bench/encoders/``. Per encoder (``ngram`` fitted on the corpus as the
index does; the pretrained ``use`` and ``e5``) and language (zh: online_shopping_10_cats reviews,
ChineseHarm-Bench violations, FBS SMS; en: the UCI SMS collection):

* speed: texts/s at several batch sizes and thread counts on texts of about 45 characters, load
  time, peak memory and dimension (each in its own process, so thread limits hold);
* paraphrase retrieval: recall@10 of a rewrite's partner among the corpus. Rewrites keep the
  meaning and change the wording with rules nobody here chose the meaning of: simplified ->
  traditional Chinese (OpenCC), clauses dropped and reordered; and real near-duplicates (two
  messages of one FBS / ChineseHarm-Bench / SMS-spam class sharing 35-80% of their character
  bigrams: selected lexically, which favours the n-gram encoder);
* short query -> source: a 2-6 character (zh) or word (en) span of a text finds that text in the
  top 100, with and without the encoder's cut-off;
* junk (punctuation, emoji, one Latin letter, ``xyz``): the largest cosine to the corpus and how
  many corpus items lie at or above the cut-off (those would be retrieved).

The cut-off columns show, per encoder, the cut-off in force (``min_score`` of the encoder kind),
the share of paraphrase partners at or above it, and the smallest cut-off above every junk query.

``--parts query`` (not in the default parts) calibrates the cut-off on what a policy does: a short
query against listings. zh: ChineseHarm-Bench violations and FBS SMS IL/FR messages, all of them,
and online_shopping_10_cats reviews up to ``--corpus`` texts; en: the UCI SMS collection. Queries
are a 2-6 character run (zh) or 1-3 words (en) of a text, or its top TF-IDF term (jieba words /
English words of 3+ letters, the corpus's own IDF, terms in 2+ texts). A query's positives are its
source and the source's near-duplicates (character-bigram Jaccard >= ``--dup-jaccard``); every
other text is a negative. Per cut-off of ``--cut-offs`` and for plain top-k (no cut-off): items
retrieved in the top ``--top-k`` at or above the cut-off, recall of the positives (of at most
top-k of them), precision of queries retrieving something, F1 (0 when nothing is retrieved), the
share retrieving nothing, and the items contentful junk (:data:`CONTENT_JUNK`) retrieves. Tables
and ``results.json`` go to ``--out`` (``reports/bench/encoders-query`` is where its record is kept).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks._common import describe_run, markdown_table, parse_args, write_text_atomic

JUNK = ("。", "，，", "!!!", "???", "...", "~", "#", "@@", "😀", "👍", "🔥🔥", "a", "x", "Q", "xyz", "abc", "qwe", "的")
#: Junk the search system's content rule lets through (letters, or one ideograph): only a cut-off
#: keeps these from retrieving.
CONTENT_JUNK = ("的", "qqq", "xyz", "abc", "qwe", "嗯", "啊")
#: The query -> listings part's zh corpus: these groups whole (toxic), shopping reviews to fill.
QUERY_TOXIC = ("harm:", "fbs:IL__", "fbs:FR__")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_CLAUSE = re.compile(r"[，。！？；,.!?;~\s]+")
_WORD = re.compile(r"[\u4e00-\u9fff]|[A-Za-z0-9']+")


@dataclass
class Args:
    data_dir: str = "../shared/data"
    """The real corpora (see ../shared/data/README.md)."""
    languages: tuple[str, ...] = ("zh", "en")
    """Languages measured, comma-separated (zh, en)."""
    encoders: tuple[str, ...] = ("ngram", "use", "e5")
    """Encoder kinds, comma-separated (ngram, use, e5 or a local path)."""
    corpus: int = 20000
    """Texts per language (the en corpus has about 5,500)."""
    pairs: int = 300
    """Rewrite pairs per kind and language."""
    spans: int = 300
    """Span queries per language."""
    speed_texts: int = 512
    """Texts per speed measurement (batch 1 uses a sixteenth)."""
    threads: tuple[int, ...] = (1, 2)
    """Thread counts of the speed measurement, comma-separated."""
    batch_sizes: tuple[int, ...] = (1, 32, 256)
    """Batch sizes of the speed measurement, comma-separated."""
    seed: int = 0
    """Seed of the sampled texts and rewrites."""
    parts: tuple[str, ...] = ("speed", "quality")
    """Parts measured, comma-separated: speed, quality (paraphrase, span, junk), query (query -> listings)."""
    queries: int = 300
    """query -> listings: queries per kind (span, term) and language."""
    top_k: int = 100
    """query -> listings: hits a search returns."""
    cut_offs: tuple[float, ...] = (*(round(0.05 * i, 2) for i in range(16)),
                                   *(round(0.8 + 0.01 * i, 2) for i in range(16)))
    """query -> listings: cut-offs measured, comma-separated (steps of 0.01 above 0.8, where e5's cosines crowd)."""
    dup_jaccard: float = 0.5
    """query -> listings: a text is a positive of a query when its character bigrams' Jaccard with
    the query's source is at least this."""
    recall_slack: float = 0.03
    """query -> listings: the recall-kept cut-off is the largest whose mean recall is within this of top-k's."""
    junk_items: int = 5
    """query -> listings: at the junk-clean F1 cut-off no contentful junk query retrieves more than this many items."""
    out: str = "reports/bench/encoders"
    """Output directory: results.json, table, plot."""


# ---- corpora ---------------------------------------------------------------------------------
def load_corpus(language: str, data_dir: Path) -> list[tuple[str, str]]:
    """(text, group) of the real corpora of a language (files missing under ``data_dir`` are
    skipped); the group is the class that near-duplicate partners share."""
    import pandas as pd

    from qx_env.corpus.compose import normalize_text

    rows: list[tuple[str, str]] = []
    if language == "zh":
        shopping = data_dir / "online_shopping_10_cats" / "online_shopping_10_cats.csv"
        if shopping.is_file():
            frame = pd.read_csv(shopping, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            rows += [(normalize_text(t), f"shopping:{c}") for t, c in zip(frame["review"], frame["cat"])]
        for path in sorted((data_dir / "chineseharm_bench").glob("*.json")):
            if path.stem not in ("bench", "不违规"):
                rows += [(normalize_text(str(r["文本"])), f"harm:{path.stem}")
                         for r in json.loads(path.read_text(encoding="utf-8"))]
        for path in sorted((data_dir / "fbs_sms").glob("*.txt")):
            rows += [(normalize_text(line, join_cjk=True), f"fbs:{path.stem}")
                     for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        sms = data_dir / "sms_spam_collection_uci" / "SMSSpamCollection"
        if sms.is_file():
            for line in sms.read_text(encoding="utf-8").splitlines()[1:]:
                label, _, text = line.partition("\t")
                rows.append((normalize_text(text), f"sms:{label}"))
    seen, out = set(), []
    for text, group in rows:
        if 6 <= len(text) <= 200 and text not in seen:
            seen.add(text)
            out.append((text, group))
    return out


def sample_corpus(rows: list[tuple[str, str]], size: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    if len(rows) <= size:
        return rows
    return [rows[i] for i in np.sort(rng.choice(len(rows), size, replace=False))]


# ---- query sets ------------------------------------------------------------------------------
def rewrite_clauses(text: str, rng: np.random.Generator) -> str | None:
    """Drop one clause and reverse the order of the rest (texts of three clauses or more)."""
    clauses = [c for c in _CLAUSE.split(text) if c]
    if len(clauses) < 3:
        return None
    clauses.pop(int(rng.integers(len(clauses))))
    joiner = " " if re.search(r"[A-Za-z]", text) and not re.search(r"[\u4e00-\u9fff]", text) else "，"
    return joiner.join(reversed(clauses))


def rewrite_traditional(text: str) -> str | None:
    """Simplified -> traditional Chinese (OpenCC); kept when at least two characters change."""
    from opencc import OpenCC

    converter = getattr(rewrite_traditional, "_converter", None) or OpenCC("s2t")
    rewrite_traditional._converter = converter
    converted = converter.convert(text)
    return converted if sum(a != b for a, b in zip(text, converted)) >= 2 else None


def rewrite_pairs(texts: list[str], language: str, count: int, rng: np.random.Generator) -> dict[str, list]:
    """kind -> [(query, target position)]: rewrites of corpus texts (the rewrite is not in the corpus)."""
    kinds = {"clauses": lambda t: rewrite_clauses(t, rng)}
    if language == "zh":
        kinds["s2t"] = rewrite_traditional
    out = {}
    for kind, rewrite in kinds.items():
        pairs = []
        for position in rng.permutation(len(texts)):
            query = rewrite(texts[position])
            if query and query != texts[position]:
                pairs.append((query, int(position)))
            if len(pairs) == count:
                break
        out[kind] = pairs
    return out


def near_duplicate_pairs(texts: list[str], groups: list[str], count: int, rng: np.random.Generator,
                         low: float = 0.35, high: float = 0.8) -> list[tuple[int, int]]:
    """(query position, partner position): within a class, the partner of most shared character
    bigrams (Jaccard), kept when that lies in [low, high) (neither unrelated nor a copy)."""
    from sklearn.feature_extraction.text import CountVectorizer

    matrix = CountVectorizer(analyzer="char", ngram_range=(2, 2), binary=True, lowercase=True).fit_transform(texts)
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    group_array = np.asarray(groups)
    pairs = []
    for position in rng.permutation(len(texts)):
        same = np.flatnonzero(group_array == group_array[position])
        same = same[same != position]
        if not len(same) or not sizes[position]:
            continue
        shared = (matrix[same] @ matrix[position].T).toarray().ravel()
        jaccard = shared / np.maximum(sizes[same] + sizes[position] - shared, 1)
        best = int(np.argmax(jaccard))
        if low <= jaccard[best] < high:
            pairs.append((int(position), int(same[best])))
        if len(pairs) == count:
            break
    return pairs


def span_queries(texts: list[str], count: int, rng: np.random.Generator) -> list[tuple[str, int]]:
    """(span, source position): 2-6 consecutive characters (zh) or words (en) of a text."""
    out = []
    for position in rng.permutation(len(texts)):
        tokens = _WORD.findall(texts[position])
        if len(tokens) < 3:
            continue
        length = int(rng.integers(2, min(6, len(tokens) - 1) + 1))
        start = int(rng.integers(0, len(tokens) - length + 1))
        piece = tokens[start:start + length]
        out.append(("".join(piece) if all(_is_cjk(t) for t in piece) else " ".join(piece), int(position)))
        if len(out) == count:
            break
    return out


def _is_cjk(token: str) -> bool:
    return len(token) == 1 and "\u4e00" <= token <= "\u9fff"


# ---- encoders --------------------------------------------------------------------------------
def make(name: str, corpus: list[str]):
    from indexes import make_encoder

    return make_encoder(name, corpus)[0]


def encode_queries(encoder, queries: list[str]) -> np.ndarray:
    """Query vectors as the index makes them from a query's text (NFKC, whitespace collapsed; an
    all-zero vector retrieves nothing). Whether the search system refuses a query before it reaches
    the encoder (junk handling) is left out: this measures the encoder."""
    import unicodedata

    texts = [" ".join(unicodedata.normalize("NFKC", q).split()) or " " for q in queries]
    return encoder.encode_queries(texts) if texts else np.zeros((0, encoder.dim), np.float32)


def passes_content_rule(query: str) -> bool:
    """Whether the search system lets the query reach the encoder (where it has such a rule)."""
    from indexes import has_content

    return has_content(" ".join(unicodedata_nfkc(query).split()))


def unicodedata_nfkc(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", text)


def top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def recall(scores: np.ndarray, targets: np.ndarray, k: int, cut: float | None = None,
           exclude: np.ndarray | None = None) -> float:
    if not len(targets):
        return float("nan")
    scores = scores.copy()
    if exclude is not None:
        scores[np.arange(len(exclude)), exclude] = -np.inf
    ranked = top(scores, k)
    found = (ranked == targets[:, None]).any(axis=1)
    if cut is not None:
        found &= scores[np.arange(len(targets)), targets] >= cut
    return float(found.mean())


def quality(encoder, name: str, language: str, corpus: list[str], queries: dict, cache: Path) -> dict:
    from indexes import encode_cached

    started = time.perf_counter()
    items = encode_cached(encoder, corpus, cache)[0]
    encode_s = time.perf_counter() - started
    cut = float(encoder.min_score)
    row: dict = {"encoder": name, "language": language, "items": len(corpus), "cut_off": cut,
                 "corpus_encode_s": round(encode_s, 1)}
    partner_cos = []
    for kind, pairs in queries["rewrites"].items():
        if not pairs:
            continue
        vectors = encode_queries(encoder, [q for q, _ in pairs])
        targets = np.array([t for _, t in pairs])
        scores = vectors @ items.T
        row[f"para_{kind}_r10"] = recall(scores, targets, 10)
        partner_cos.append(scores[np.arange(len(targets)), targets])
    if queries["duplicates"]:
        a = np.array([p for p, _ in queries["duplicates"]])
        b = np.array([q for _, q in queries["duplicates"]])
        vectors = encode_queries(encoder, [corpus[i] for i in a])
        scores = vectors @ items.T
        row["para_neardup_r10"] = recall(scores, b, 10, exclude=a)
        partner_cos.append(scores[np.arange(len(b)), b])
    cos = np.concatenate(partner_cos) if partner_cos else np.zeros(0)
    kinds = [k for k in row if k.startswith("para_") and k.endswith("_r10")]
    row["para_r10"] = float(np.mean([row[k] for k in kinds])) if kinds else float("nan")
    row["partner_cos_p10"], row["partner_cos_p50"] = (float(np.quantile(cos, q)) for q in (0.1, 0.5))
    row["partners_above_cut"] = float((cos >= cut).mean()) if len(cos) else float("nan")
    spans = queries["spans"]
    vectors = encode_queries(encoder, [q for q, _ in spans])
    scores = vectors @ items.T
    scores[~vectors.any(axis=1)] = -np.inf
    targets = np.array([t for _, t in spans])
    row["span_r100"] = recall(scores, targets, 100)
    row["span_r100_cut"] = recall(scores, targets, 100, cut=cut)
    row["span_source_cos_p50"] = float(np.median(scores[np.arange(len(targets)), targets]))
    vectors = encode_queries(encoder, list(JUNK))
    junk = vectors @ items.T
    junk[~vectors.any(axis=1)] = 0.0  # the index retrieves nothing for a zero vector
    best = junk.max(axis=1)
    row["junk_max_cos"] = float(best.max())
    row["junk_worst"] = JUNK[int(best.argmax())]
    row["junk_items_above_cut"] = int((junk >= cut).sum(axis=1).max())
    row["junk_queries_with_hits"] = int(((junk >= cut).sum(axis=1) > 0).sum())
    content = np.array([passes_content_rule(q) for q in JUNK])
    row["content_junk_max_cos"] = float(best[content].max()) if content.any() else float("nan")
    row["content_junk_items_above_cut"] = int((junk[content] >= cut).sum(axis=1).max()) if content.any() else 0
    row["cut_above_junk"] = float(np.ceil(best.max() * 20 + 1e-9) / 20)  # next multiple of 0.05
    row["partners_above_junk_cut"] = float((cos >= row["cut_above_junk"]).mean()) if len(cos) else float("nan")
    return row


# ---- speed -----------------------------------------------------------------------------------
def speed_worker(name: str, threads: int, texts_file: str, corpus_file: str, batch_sizes: list[int]) -> dict:
    """Run in a fresh process (thread limits are fixed when the libraries load)."""
    texts = json.loads(Path(texts_file).read_text())
    corpus = json.loads(Path(corpus_file).read_text())
    import indexes  # noqa: F401 (the retrieval package, imported before the baseline reading: not the encoder's memory)

    base = _rss_mb()
    started = time.perf_counter()
    if name == "use":
        from indexes import UseEncoder

        encoder = UseEncoder(threads=threads)
    else:
        encoder = make(name, corpus)  # the n-gram encoder is fitted on the corpus (counted as load)
    encoder.encode(texts[:2])
    load_s = time.perf_counter() - started
    rates = {}
    for batch in batch_sizes:
        n = max(batch, len(texts) // 16) if batch == 1 else len(texts)
        started = time.perf_counter()
        for start in range(0, n, batch):
            encoder.encode(texts[start:start + batch])
        rates[str(batch)] = round(n / (time.perf_counter() - started), 1)
    rss = _rss_mb()
    return {"encoder": name, "threads": threads, "dim": int(encoder.dim), "load_s": round(load_s, 2),
            "texts_per_s": rates, "memory_mb": round(rss - base, 1), "rss_mb": round(rss, 1)}


def _rss_mb() -> float:
    """Resident memory of this process now (Linux; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def speed(names: list[str], threads: list[int], batch_sizes: list[int], texts: list[str], corpus: list[str]) -> list:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        texts_file, corpus_file = Path(tmp) / "texts.json", Path(tmp) / "corpus.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False))
        corpus_file.write_text(json.dumps(corpus, ensure_ascii=False))
        for name in names:
            for count in threads:
                env = {**os.environ, **{v: str(count) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                                  "MKL_NUM_THREADS")}}
                spec = json.dumps([name, count, str(texts_file), str(corpus_file), batch_sizes])
                done = subprocess.run([sys.executable, "-m", "benchmarks.encoders", "_speed", spec], env=env,
                                      capture_output=True, text=True, check=False)
                if done.returncode:
                    raise RuntimeError(f"speed worker {name} failed: {done.stderr[-2000:]}")
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return rows


def speed_texts(rows: list[tuple[str, str]], count: int, rng: np.random.Generator) -> list[str]:
    """Texts of 35-55 characters (about 45), as many as asked (repeated when there are fewer)."""
    pool = [t for t, _ in rows if 35 <= len(t) <= 55] or [t for t, _ in rows]
    return [pool[i] for i in rng.choice(len(pool), count, replace=len(pool) < count)]


# ---- query -> listings -----------------------------------------------------------------------
def query_corpus(rows: list[tuple[str, str]], language: str, size: int,
                 rng: np.random.Generator) -> list[tuple[str, str]]:
    """The corpus of the query -> listings part: zh keeps every toxic text of :data:`QUERY_TOXIC`
    and fills up to ``size`` with shopping reviews (FBS advertising is left out); en is sampled."""
    if language != "zh":
        return sample_corpus(rows, size, rng)
    toxic = [r for r in rows if r[1].startswith(QUERY_TOXIC)]
    shopping = [r for r in rows if r[1].startswith("shopping:")]
    keep = sample_corpus(toxic, size, rng) + sample_corpus(shopping, max(size - len(toxic), 0), rng)
    return [keep[i] for i in rng.permutation(len(keep))]


def _en_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9']+", text)


def _en_informative(word: str) -> bool:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return len(word) >= 3 and word.isalpha() and word.lower() not in ENGLISH_STOP_WORDS


def short_queries(texts: list[str], language: str, count: int, rng: np.random.Generator) -> list[tuple[str, int]]:
    """(query, source position): a run of 2-6 Chinese characters of a text (zh), or 1-3 consecutive
    words of it with at least one of 3+ letters that is no stop word (en); only queries the content
    rule lets through."""
    out = []
    for position in rng.permutation(len(texts)):
        text = texts[position]
        if language == "zh":
            runs = [m.group() for m in _CJK_RUN.finditer(text)]
            if not runs:
                continue
            run = runs[int(rng.choice(len(runs), p=np.array([len(r) for r in runs]) / sum(map(len, runs))))]
            length = int(rng.integers(2, min(6, len(run)) + 1))
            start = int(rng.integers(0, len(run) - length + 1))
            query = run[start:start + length]
        else:
            words = _en_words(text)
            if not any(map(_en_informative, words)):
                continue
            while True:
                length = int(rng.integers(1, min(3, len(words)) + 1))
                start = int(rng.integers(0, len(words) - length + 1))
                if any(map(_en_informative, words[start:start + length])):
                    break
            query = " ".join(words[start:start + length])
        if passes_content_rule(query):
            out.append((query, int(position)))
        if len(out) == count:
            break
    return out


def term_queries(texts: list[str], language: str, count: int, rng: np.random.Generator) -> list[tuple[str, int]]:
    """(query, source position): a text's top TF-IDF term, the corpus's own IDF over terms found in
    two texts or more (jieba words of 2+ Chinese characters for zh; words of 3+ letters, no stop
    words, lower-cased for en)."""
    from collections import Counter

    if language == "zh":
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        tokens = [[w for w in jieba.lcut(t) if len(w) >= 2 and _CJK_RUN.fullmatch(w)] for t in texts]
    else:
        tokens = [[w.lower() for w in _en_words(t) if _en_informative(w)] for t in texts]
    frequency = Counter(w for words in tokens for w in set(words))
    out = []
    for position in rng.permutation(len(texts)):
        counts = Counter(w for w in tokens[position] if frequency[w] >= 2)
        if counts:
            term = max(counts, key=lambda w: (counts[w] * np.log(len(texts) / frequency[w]), -len(w)))
            out.append((term, int(position)))
        if len(out) == count:
            break
    return out


def bigram_matrix(texts: list[str]):
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(analyzer="char", ngram_range=(2, 2), binary=True, lowercase=True,
                           dtype=np.float32).fit_transform(texts).tocsr()


def positives_of(matrix, sources: np.ndarray, threshold: float) -> np.ndarray:
    """(queries, texts) bool: each source's near-duplicates, itself included (bigram Jaccard >= threshold)."""
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    shared = (matrix[sources] @ matrix.T).toarray()
    jaccard = shared / np.maximum(sizes[sources][:, None] + sizes[None, :] - shared, 1)
    positive = jaccard >= threshold
    positive[np.arange(len(sources)), sources] = True
    return positive


def listing_metrics(top_scores: np.ndarray, top_positive: np.ndarray, top_contains: np.ndarray,
                    positives: np.ndarray, cut: float | None, k: int) -> dict:
    """Means over queries at one cut-off (``None``: plain top-k)."""
    kept = top_scores > -np.inf if cut is None else top_scores >= cut
    retrieved = kept.sum(axis=1)
    hits = (kept & top_positive).sum(axis=1)
    recall_q = hits / np.maximum(np.minimum(positives, k), 1)
    some = retrieved > 0
    precision_q = np.where(some, hits / np.maximum(retrieved, 1), 0.0)
    f1_q = np.where(hits > 0, 2 * precision_q * recall_q / np.maximum(precision_q + recall_q, 1e-12), 0.0)
    lexical = (kept & top_contains).sum(axis=1)
    return {"cut": "top-k" if cut is None else cut, "items": float(retrieved.mean()), "recall": float(recall_q.mean()),
            "precision": float(precision_q[some].mean()) if some.any() else float("nan"),
            "f1": float(f1_q.mean()), "empty": float((~some).mean()),
            "lexical_precision": float(lexical[some].sum() / retrieved[some].sum()) if some.any() else float("nan")}


def query_listings(encoder, name: str, language: str, corpus: list[str], queries: dict, cuts: list[float],
                   k: int, cache: Path) -> dict:
    """The query -> listings measurement of one encoder on one corpus (see the module docstring)."""
    from indexes import encode_cached

    started = time.perf_counter()
    items = encode_cached(encoder, corpus, cache)[0]
    encode_s = time.perf_counter() - started
    k = min(k, len(corpus))
    lowered = [t.lower() for t in corpus]
    out: dict = {"encoder": name, "language": language, "items": len(corpus), "min_score": float(encoder.min_score),
                 "corpus_encode_s": round(encode_s, 1), "kinds": {}}
    for kind, pairs in queries["kinds"].items():
        vectors = encode_queries(encoder, [q for q, _ in pairs])
        scores = vectors @ items.T
        scores[~vectors.any(axis=1)] = -np.inf  # the index retrieves nothing for a zero vector
        ranked = top(scores, k)
        top_scores = np.take_along_axis(scores, ranked, axis=1)
        positive = queries["positives"][kind]
        top_positive = np.take_along_axis(positive, ranked, axis=1)
        top_contains = np.array([[q.lower() in lowered[j] for j in row] for (q, _), row in zip(pairs, ranked)])
        positives = positive.sum(axis=1)
        rows = [listing_metrics(top_scores, top_positive, top_contains, positives, cut, k) for cut in [None, *cuts]]
        source = scores[np.arange(len(pairs)), [s for _, s in pairs]]
        out["kinds"][kind] = {"queries": len(pairs), "positives_mean": float(positives.mean()),
                              "source_cos_p50": float(np.median(source)), "rows": rows}
    vectors = encode_queries(encoder, list(CONTENT_JUNK))
    junk = vectors @ items.T
    junk[~vectors.any(axis=1)] = -np.inf
    junk_top = np.take_along_axis(junk, top(junk, k), axis=1)
    out["junk_max_cos"] = {q: float(c) for q, c in zip(CONTENT_JUNK, junk.max(axis=1))}
    out["junk_items"] = {"top-k": int((junk_top > -np.inf).sum(axis=1).max()),
                         **{str(c): int((junk_top >= c).sum(axis=1).max()) for c in cuts}}
    out["junk_items_mean"] = {"top-k": float((junk_top > -np.inf).sum(axis=1).mean()),
                              **{str(c): float((junk_top >= c).sum(axis=1).mean()) for c in cuts}}
    return out


def combined_rows(record: dict) -> list[dict]:
    """The rows of every query kind averaged (the kinds have as many queries each, or nearly)."""
    kinds = list(record["kinds"].values())
    weights = np.array([k["queries"] for k in kinds], float)
    rows = []
    for group in zip(*(k["rows"] for k in kinds)):
        row = {"cut": group[0]["cut"]}
        for key in ("items", "recall", "precision", "f1", "empty", "lexical_precision"):
            values = np.array([r[key] for r in group], float)
            ok = ~np.isnan(values)
            row[key] = float(np.average(values[ok], weights=weights[ok])) if ok.any() else float("nan")
        rows.append(row)
    return rows


def recommend(records: list[dict], slack: float, junk_limit: int) -> list[dict]:
    """Per encoder, over its languages (one cut-off serves them all): the largest cut-off whose mean
    recall (query kinds combined) stays within ``slack`` of top-k's in every language; the cut-off
    of the best mean F1 (averaged over the languages); and the same at which no contentful junk
    query retrieves more than ``junk_limit`` items in any language."""
    out = []
    for name in dict.fromkeys(r["encoder"] for r in records):
        mine = [r for r in records if r["encoder"] == name]
        tables = [combined_rows(r) for r in mine]
        cuts = [row["cut"] for row in tables[0][1:]]
        kept = [c for i, c in enumerate(cuts)
                if all(t[i + 1]["recall"] >= t[0]["recall"] - slack for t in tables)]
        recall_cut = max(kept) if kept else None
        f1 = {i: float(np.mean([t[i + 1]["f1"] for t in tables])) for i in range(len(cuts))}
        clean = [i for i, c in enumerate(cuts) if all(r["junk_items"][str(c)] <= junk_limit for r in mine)]
        best_cut = cuts[max(f1, key=lambda i: (f1[i], -i))]
        f1_cut = cuts[max(clean, key=lambda i: (f1[i], -i))] if clean else None
        row = {"encoder": name, "min_score": mine[0]["min_score"], "recall_cut": recall_cut, "best_f1_cut": best_cut,
               "f1_cut": f1_cut, "mean_f1": {str(c): f1[i] for i, c in enumerate(cuts)}}
        for record, table in zip(mine, tables):
            at = {r["cut"]: r for r in table}
            for label, cut in (("topk", "top-k"), ("current", mine[0]["min_score"]), ("recall_cut", recall_cut),
                               ("best_f1_cut", best_cut), ("f1_cut", f1_cut)):
                if cut in at:
                    junk = record["junk_items"][str(cut)]
                    row[f"{record['language']}_{label}"] = {**at[cut], "junk_max_items": junk}
        out.append(row)
    return out


# ---- main ------------------------------------------------------------------------------------
def tables(result: dict) -> str:
    sections = []
    if result["speed"] or result["quality"]:
        sections.append(paraphrase_tables(result))
    if "query" in result:
        sections.append(query_tables(result))
    return "\n\n".join(sections)


def paraphrase_tables(result: dict) -> str:
    sizes = [str(b) for b in result["config"]["batch_sizes"]]  # the keys of texts_per_s
    speed_rows = [[r["language"], r["encoder"], r["threads"], r["dim"], r["load_s"],
                   *(r["texts_per_s"][b] for b in sizes), r["memory_mb"]] for r in result["speed"]]
    speed_table = markdown_table(["lang", "encoder", "threads", "dim", "load s", *(f"texts/s b={b}" for b in sizes),
                                  "memory MiB"], speed_rows)
    columns = ["para_r10", "para_clauses_r10", "para_s2t_r10", "para_neardup_r10", "span_r100", "span_r100_cut",
               "junk_max_cos", "junk_worst", "junk_items_above_cut", "content_junk_max_cos",
               "content_junk_items_above_cut", "cut_off", "partners_above_cut",
               "cut_above_junk", "partners_above_junk_cut", "partner_cos_p10", "partner_cos_p50"]
    quality_rows = [[r["language"], r["encoder"], r["items"], *(r.get(c, "-") for c in columns)]
                    for r in result["quality"]]
    names = ["paraphrase R@10", "clauses R@10", "s2t R@10", "near-dup R@10", "span->source R@100",
             "... above cut", "junk max cos", "worst junk", "junk items >= cut", "contentful junk max cos",
             "... items >= cut", "cut-off", "partners >= cut",
             "cut above junk", "partners >= that", "partner cos p10", "partner cos p50"]
    return ("### Speed (texts of ~45 characters)\n\n" + speed_table + "\n\n### Retrieval quality\n\n"
            + markdown_table(["lang", "encoder", "items", *names], quality_rows))


def _cut_label(cut) -> str:
    return cut if isinstance(cut, str) else f"{cut:.2f}"


def query_tables(result: dict) -> str:
    """The query -> listings tables: the query sets, the recommendation, and per encoder and
    language every cut-off (query kinds combined, and each kind's recall, items and emptiness)."""
    k = result["config"]["top_k"]
    sets = [[lang, s["items"], ", ".join(f"{g} {n}" for g, n in s["groups"].items()),
             *(f"{s[kind]['queries']} / {s[kind]['positives_mean']:.1f} / {s[kind]['positives_p50']:.0f}"
               for kind in ("span", "term"))] for lang, s in result["query_sets"].items()]
    text = ("### Query -> listings: query sets\n\n"
            + markdown_table(["lang", "items", "groups", "span queries / positives mean / p50",
                              "term queries / positives mean / p50"], sets))
    rec_rows = []
    for rec in result["query_recommended"]:
        for lang in result["query_sets"]:
            for label, name in (("topk", f"top-{k}"), ("current", "in force"), ("recall_cut", "recall-kept"),
                                ("best_f1_cut", "best F1"), ("f1_cut", "best F1, junk-clean")):
                row = rec.get(f"{lang}_{label}")
                if row:
                    mean_f1 = rec["mean_f1"].get(str(row["cut"]), "-")
                    rec_rows.append([rec["encoder"], lang, name, _cut_label(row["cut"]), row["items"], row["recall"],
                                     row["precision"], row["f1"], mean_f1, row["empty"], row["junk_max_items"]])
    text += (f"\n\n### Query -> listings: cut-offs (recall-kept: within {result['config']['recall_slack']} of "
             f"top-{k} recall in every language; junk-clean: contentful junk retrieves <= "
             f"{result['config']['junk_items']} items)\n\n"
             + markdown_table(["encoder", "lang", "which", "cut", "items", "recall", "precision", "F1",
                               "F1 mean of langs", "empty", "junk max items"], rec_rows))
    for record in result["query"]:
        combined = combined_rows(record)
        kinds = record["kinds"]
        rows = []
        for i, row in enumerate(combined):
            key = "top-k" if row["cut"] == "top-k" else str(row["cut"])
            rows.append([_cut_label(row["cut"]), row["items"], row["recall"], row["precision"], row["f1"],
                         row["empty"], row["lexical_precision"],
                         *(f"{kinds[kind]['rows'][i]['recall']:.3f} / {kinds[kind]['rows'][i]['items']:.1f} / "
                           f"{kinds[kind]['rows'][i]['empty']:.2f}" for kind in kinds),
                         record["junk_items_mean"][key], record["junk_items"][key]])
        junk = ", ".join(f"{q} {c:.2f}" for q, c in record["junk_max_cos"].items())
        text += (f"\n\n#### {record['language']} {record['encoder']} ({record['items']} items; in force "
                 f"{record['min_score']}; source cos p50 "
                 + " / ".join(f"{kind} {v['source_cos_p50']:.2f}" for kind, v in kinds.items())
                 + f"; junk max cos: {junk})\n\n"
                 + markdown_table(["cut", "items", "recall", "precision", "F1", "empty", "contains query",
                                   *(f"{kind}: recall / items / empty" for kind in kinds), "junk mean items",
                                   "junk max items"], rows))
    return text


def main(args: Args) -> dict:
    from qx_env.errors import QxError

    data_dir, out = Path(args.data_dir), Path(args.out)
    names = list(args.encoders)
    unknown = set(args.parts) - {"speed", "quality", "query"}
    if unknown:
        raise QxError(f"unknown parts {sorted(unknown)}: choose from speed, quality, query")
    result: dict = {"speed": [], "quality": [], "queries": {}}
    if "query" in args.parts:
        result.update({"query": [], "query_sets": {}})
    for language in args.languages:
        rng = np.random.default_rng(args.seed)
        rows = load_corpus(language, data_dir)
        if not rows:
            raise QxError(f"no {language} corpus under {data_dir}")
        if "speed" in args.parts or "quality" in args.parts:
            measure_paraphrases(args, language, rows, names, rng, result, out)
        if "query" in args.parts:
            measure_queries(args, language, rows, names, result, out)
    if "query" in args.parts:
        result["query_recommended"] = recommend(result["query"], args.recall_slack, args.junk_items)
    result.update(describe_run(args))
    text = tables(result)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "results.json", json.dumps(result, indent=2, ensure_ascii=False))
    write_text_atomic(out / "table.md", text + "\n")
    print(text)
    return result


def measure_paraphrases(args: Args, language: str, rows: list, names: list[str], rng: np.random.Generator,
                        result: dict, out: Path) -> None:
    """The speed and quality parts of one language (into ``result``)."""
    sample = sample_corpus(rows, args.corpus, rng)
    corpus, groups = [t for t, _ in sample], [g for _, g in sample]
    queries = {"rewrites": rewrite_pairs(corpus, language, args.pairs, rng),
               "duplicates": near_duplicate_pairs(corpus, groups, args.pairs, rng),
               "spans": span_queries(corpus, args.spans, rng)}
    result["queries"][language] = {"rewrites": {k: len(v) for k, v in queries["rewrites"].items()},
                                   "duplicates": len(queries["duplicates"]), "spans": len(queries["spans"]),
                                   "examples": {k: [[q, corpus[t]] for q, t in v[:3]]
                                                for k, v in queries["rewrites"].items()}}
    texts = speed_texts(sample, args.speed_texts, rng)
    if "speed" in args.parts:
        result["speed"] += [{"language": language, **r}
                            for r in speed(names, list(args.threads), list(args.batch_sizes), texts, corpus)]
    if "quality" in args.parts:
        for name in names:
            encoder = make(name, corpus)
            result["quality"].append(quality(encoder, name, language, corpus, queries, out / "cache"))
            print(f"{language} {name}: done", file=sys.stderr)


def measure_queries(args: Args, language: str, rows: list, names: list[str], result: dict, out: Path) -> None:
    """The query -> listings part of one language (into ``result``); its own seeded draws, so that
    it does not depend on which other parts ran."""
    rng = np.random.default_rng([args.seed, 1])
    sample = query_corpus(rows, language, args.corpus, rng)
    corpus = [t for t, _ in sample]
    kinds = {"span": short_queries(corpus, language, args.queries, rng),
             "term": term_queries(corpus, language, args.queries, rng)}
    matrix = bigram_matrix(corpus)
    positives = {k: positives_of(matrix, np.array([s for _, s in v], dtype=np.int64), args.dup_jaccard)
                 for k, v in kinds.items()}
    queries = {"kinds": kinds, "positives": positives}
    groups = {}
    for _, group in sample:
        key = group.split(":")[0] if group.startswith(("shopping", "sms")) else group.split("__")[0]
        groups[key] = groups.get(key, 0) + 1
    result["query_sets"][language] = {
        "items": len(corpus), "groups": groups,
        **{k: {"queries": len(v), "positives_mean": float(positives[k].sum(axis=1).mean()),
               "positives_p50": float(np.median(positives[k].sum(axis=1))),
               "examples": [[q, corpus[t][:60]] for q, t in v[:5]]} for k, v in kinds.items()}}
    for name in names:
        encoder = make(name, corpus)
        cuts = sorted({*map(float, args.cut_offs), float(encoder.min_score)})
        result["query"].append(query_listings(encoder, name, language, corpus, queries, cuts, args.top_k,
                                              out / "cache" / language))  # one cache a language: kept for a rerun
        print(f"{language} {name}: query -> listings done", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_speed":
        print(json.dumps(speed_worker(*json.loads(sys.argv[2]))))
    else:
        main(parse_args(Args, __doc__.splitlines()[0]))
