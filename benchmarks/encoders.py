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


# ---- main ------------------------------------------------------------------------------------
def tables(result: dict) -> str:
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


def main(args: Args) -> dict:
    from qx_env.errors import QxError

    data_dir, out = Path(args.data_dir), Path(args.out)
    names = list(args.encoders)
    result: dict = {"speed": [], "quality": [], "queries": {}}
    for language in args.languages:
        rng = np.random.default_rng(args.seed)
        rows = load_corpus(language, data_dir)
        if not rows:
            raise QxError(f"no {language} corpus under {data_dir}")
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
        result["speed"] += [{"language": language, **r}
                            for r in speed(names, list(args.threads), list(args.batch_sizes), texts, corpus)]
        for name in names:
            encoder = make(name, corpus)
            result["quality"].append(quality(encoder, name, language, corpus, queries, out / "cache"))
            print(f"{language} {name}: done", file=sys.stderr)
    result.update(describe_run(args))
    text = tables(result)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "results.json", json.dumps(result, indent=2, ensure_ascii=False))
    write_text_atomic(out / "table.md", text + "\n")
    print(text)
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_speed":
        print(json.dumps(speed_worker(*json.loads(sys.argv[2]))))
    else:
        main(parse_args(Args, __doc__.splitlines()[0]))
