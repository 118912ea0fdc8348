"""How separable toxic and normal texts are to a cheap classic classifier, on held-out campaigns.

:func:`heldout_ngram_auc` trains the risk ranker's character n-gram logistic regression
(:class:`qx_env.rankers.NgramLogisticRegression`) on half of a snapshot's toxic clusters and
half of its normal items, and reports the ROC AUC on the other half: toxic clusters are held out
whole (a new campaign's wording is unseen), normal items are split at random. On real corpora the
same classifier sits well below 1; a synthetic marketplace far above that has a label oracle in
its surface text.

``python -m benchmarks.separability --items 40000 --toxic-share 0.02`` prints the AUC of synthetic
snapshots next to the real corpora (COLD train -> test; the harm-zh and fbs-zh presets).

The background leak (:func:`leak_table`, ``qx bench separability --leak``): real toxic texts planted
into a background are found by the words they share with real users' text if the background lacks
those words. A word-level classifier (TF-IDF over jieba tokens, logistic regression) separates a
sample of real toxic texts from a sample of each background, cross-validated with the toxic
near-duplicate families held out whole; the held-out AUC is the leak. Backgrounds: the synthetic
normal listings before everyday words (``everyday_scale=0``), after them, and real benign text. Beside
it, the expected precision of an exact-word query made of a toxic text's top TF-IDF word when the
toxic texts are planted at ``leak_share`` (what a keyword policy finds per query).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks._common import markdown_table, parse_args
from qx_env.rankers import LabeledTexts, NgramLogisticRegression
from qx_env.snapshot import Snapshot


@dataclass
class Args:
    items: tuple[int, ...] = (40_000,)
    """Synthetic corpus sizes measured."""
    toxic_share: tuple[float, ...] = ()
    """Toxic shares measured at each size; empty: SynthConfig's default."""
    seed: int = 0
    """Seed of the synthetic corpora, the presets and the held-out split."""
    real: bool = False
    """Also measure COLD and the harm-zh/fbs-zh presets."""
    data_dir: str = "../shared/data"
    """The real corpora (see ../shared/data/README.md)."""
    leak: bool = False
    """Measure the background leak instead: planted real toxic texts against synthetic and real backgrounds."""
    leak_toxic: tuple[str, ...] = ("fbs-fraud", "harm")
    """Real toxic texts planted (fbs-fraud: fbs_sms FR__*; harm: chineseharm_bench violations)."""
    leak_backgrounds: tuple[str, ...] = ("synth-before", "synth-after", "real-benign", "real-sms")
    """Backgrounds: synthetic normals without / with everyday words; real benign text (online_shopping,
    COLD label 0, fbs_sms AD+Other pooled); real SMS (fbs_sms AD__* + Other)."""
    leak_toxic_items: int = 1500
    """Toxic texts sampled per row."""
    leak_background_items: int = 8000
    """Background texts sampled per row."""
    leak_share: float = 0.003
    """Toxic share at which the exact-word precision is computed."""
    folds: int = 5
    """Cross-validation folds of the leak classifier."""


def heldout_split(labels: np.ndarray, clusters: list[str | None], seed: int = 0,
                  test_share: float = 0.5) -> np.ndarray:
    """Boolean test mask: ``test_share`` of the toxic clusters (whole; a toxic item without a
    cluster is its own), and ``test_share`` of the normal items at random."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    normal = np.flatnonzero(labels == 0)
    test[rng.choice(normal, size=round(test_share * len(normal)), replace=False)] = True
    toxic = np.flatnonzero(labels == 1)
    groups: dict[str, list[int]] = {}
    for i in toxic:
        groups.setdefault(clusters[i] or f"item:{i}", []).append(int(i))
    names = sorted(groups)
    rng.shuffle(names)
    # Alternate whole clusters between the halves, largest first, so both get toxic items.
    names.sort(key=lambda n: -len(groups[n]))
    held, kept = 0, 0
    for name in names:
        if held <= kept * test_share / (1 - test_share):
            test[groups[name]] = True
            held += len(groups[name])
        else:
            kept += len(groups[name])
    return test


def ngram_auc(train: LabeledTexts, test: LabeledTexts, C: float = 4.0) -> float:
    """ROC AUC on ``test`` of the n-gram logistic regression fitted on ``train``."""
    from sklearn.metrics import roc_auc_score

    scores = NgramLogisticRegression(C).fit(train).score(test.texts)
    return float(roc_auc_score(test.labels, scores))


def heldout_ngram_auc(snapshot: Snapshot, seed: int = 0) -> float:
    """AUC of the character n-gram classifier on held-out toxic clusters (grouped by
    ``cluster_id``) against held-out normal items; see :func:`heldout_split`."""
    labels = np.asarray(snapshot.labels).astype(np.int64)
    if labels.sum() < 2 or (labels == 0).sum() < 2:
        raise ValueError("heldout_ngram_auc needs at least two toxic and two normal items")
    clusters = snapshot.items.column("cluster_id").to_pylist()
    test = heldout_split(labels, clusters, seed)
    texts = list(snapshot.texts)
    data = LabeledTexts(snapshot.meta.name, texts, labels)
    return ngram_auc(data.subset(~test, "train"), data.subset(test, "test"))


def cold_auc(data_dir: Path) -> float:
    """COLD: train on its train split, test on its test split (offensive = 1)."""
    import csv

    def read(split: str) -> LabeledTexts:
        with (data_dir / f"cold/{split}.csv").open(encoding="utf-8-sig", newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("TEXT")]
        return LabeledTexts(f"cold/{split}", [r["TEXT"] for r in rows], np.array([int(r["label"]) for r in rows]))

    return ngram_auc(read("train"), read("test"))


# ---- the background leak ----------------------------------------------------------------------
LEAK_TOXIC = ("fbs-fraud", "harm")
LEAK_BACKGROUNDS = ("synth-before", "synth-after", "real-benign", "real-sms")
#: Texts of one toxic family: character 2-3-gram TF-IDF cosine at least this (the near-duplicate rule of
#: vocab/noise.json's singleton share).
FAMILY_COSINE = 0.5


def tokens(text: str) -> list[str]:
    """jieba tokens of ``text`` with a Han character (Latin, digits and fbs_sms mask tokens left out)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [w for w in jieba.lcut(text) if any("\u4e00" <= ch <= "\u9fff" for ch in w)]


def _sample(texts: list[str], n: int, seed: int) -> list[str]:
    unique = list(dict.fromkeys(t for t in texts if t.strip()))
    if len(unique) <= n:
        return unique
    rng = np.random.default_rng(seed)
    return [unique[i] for i in sorted(rng.choice(len(unique), size=n, replace=False))]


def leak_texts(name: str, data_dir: Path, n: int, seed: int) -> list[str]:
    """``n`` distinct texts (at most) of a toxic source or background, normalised (fbs_sms spaces
    between Han characters removed)."""
    from qx_env.corpus import SynthConfig, synthesize
    from qx_env.corpus.compose import normalize_text
    from qx_env.corpus.synth import real_corpora

    if name not in (*LEAK_TOXIC, *LEAK_BACKGROUNDS):
        raise ValueError(f"unknown leak source {name!r}; toxic: {', '.join(LEAK_TOXIC)}; "
                         f"backgrounds: {', '.join(LEAK_BACKGROUNDS)}")
    if name.startswith("synth-"):
        config = SynthConfig(items=round(n * 1.1) + 20, toxic_share=0.001, hard_negative_share=0.0, seed=seed,
                             everyday_scale=0.0 if name == "synth-before" else 1.0)
        snapshot = synthesize(config, progress=False)
        texts = [normalize_text(t) for t, label in zip(snapshot.texts, snapshot.labels) if label == 0]
        return _sample(texts, n, seed)
    if name == "fbs-fraud":
        files = sorted((data_dir / "fbs_sms").glob("FR__*.txt"))
        lines = [line for f in files for line in f.read_text(encoding="utf-8").splitlines()]
        return _sample([normalize_text(t, join_cjk=True) for t in lines], n, seed)
    corpora = real_corpora(data_dir)
    wanted = {"harm": ["chineseharm_bench violations"], "real-sms": ["fbs_sms AD__* + Other"],
              "real-benign": [k for k, (_, _, role) in corpora.items() if role == "benign"]}
    texts = []
    for key in wanted[name]:
        raw, fbs, _ = corpora[key]
        texts += [normalize_text(t, join_cjk=fbs) for t in raw]
    return _sample(texts, n, seed)


def families(texts: list[str]) -> np.ndarray:
    """Family id of each text: connected components of near-duplicates (:data:`FAMILY_COSINE`)."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import NearestNeighbors

    matrix = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True).fit_transform(texts)
    graph = NearestNeighbors(radius=1 - FAMILY_COSINE, metric="cosine").fit(matrix).radius_neighbors_graph(matrix)
    return connected_components(graph, directed=False)[1]


def leak_auc(toxic: list[list[str]], background: list[list[str]], toxic_families: np.ndarray, folds: int = 5,
             seed: int = 0, vocabulary: list[str] | None = None) -> float:
    """Held-out AUC of TF-IDF (jieba tokens) + logistic regression separating ``toxic`` from
    ``background`` (token lists): stratified group folds, a toxic family held out whole, each background
    text its own group; out-of-fold scores pooled. ``vocabulary``: the only words the classifier sees."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    docs = toxic + background
    labels = np.array([1] * len(toxic) + [0] * len(background))
    groups = np.concatenate([np.asarray(toxic_families), len(toxic) + np.arange(len(background))])
    scores = np.zeros(len(docs))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(docs)), labels, groups):
        vectorizer = TfidfVectorizer(analyzer=lambda words: words, sublinear_tf=True,
                                     **({"vocabulary": vocabulary} if vocabulary else {"min_df": 2}))
        features = vectorizer.fit_transform([docs[i] for i in train])
        model = LogisticRegression(C=4.0, max_iter=2000).fit(features, labels[train])
        scores[test] = model.decision_function(vectorizer.transform([docs[i] for i in test]))
    return float(roc_auc_score(labels, scores))


def exact_word_precision(toxic: list[list[str]], background: list[list[str]], share: float) -> tuple[float, float]:
    """Expected precision of exact-word queries made of a toxic text's words (two or more characters)
    when the toxic texts are ``share`` of a corpus of this background, document rates from the samples
    weighted to the share: (its top TF-IDF word, any of its words), means over the toxic texts."""
    from collections import Counter

    def rates(docs):
        counts = Counter(w for d in docs for w in set(d))
        return {w: c / len(docs) for w, c in counts.items()}

    t_rate, b_rate = rates(toxic), rates(background)
    top, anyword = [], []
    for doc in toxic:
        tf = Counter(w for w in doc if len(w) >= 2)
        if not tf:
            continue
        df = {w: share * t_rate[w] + (1 - share) * b_rate.get(w, 0.0) for w in tf}
        word = max(tf, key=lambda w: (tf[w] * -np.log(df[w]), w))
        top.append(share * t_rate[word] / df[word])
        anyword.append(np.mean([share * t_rate[w] / df[w] for w in tf]))
    return float(np.mean(top)), float(np.mean(anyword))


def leak_table(args: Args) -> list[dict]:
    """One row per toxic source and background: n per class, held-out AUC, exact-word precision."""
    from qx_env.corpus.synth import everyday_words

    data_dir, rows = Path(args.data_dir), []
    real = [n for n in (*args.leak_toxic, *args.leak_backgrounds) if not n.startswith("synth-")]
    if real and not data_dir.is_dir():
        raise ValueError(f"--data-dir {data_dir} is not a directory; {', '.join(real)} are read from the real "
                         "corpora there (see ../shared/data/README.md)")
    everyday = [e["word"] for e in everyday_words("zh")]
    backgrounds = {}
    for name in args.leak_backgrounds:
        if name not in LEAK_BACKGROUNDS:
            raise ValueError(f"unknown background {name!r}; choose from {', '.join(LEAK_BACKGROUNDS)}")
        backgrounds[name] = [tokens(t) for t in leak_texts(name, data_dir, args.leak_background_items, args.seed)]
    for toxic_name in args.leak_toxic:
        if toxic_name not in LEAK_TOXIC:
            raise ValueError(f"unknown toxic source {toxic_name!r}; choose from {', '.join(LEAK_TOXIC)}")
        texts = leak_texts(toxic_name, data_dir, args.leak_toxic_items, args.seed)
        toxic, groups = [tokens(t) for t in texts], families(texts)
        for name, background in backgrounds.items():
            top, anyword = exact_word_precision(toxic, background, args.leak_share)
            rows.append({"toxic": toxic_name, "background": name, "n_toxic": len(toxic),
                         "toxic_families": len(set(groups.tolist())), "n_background": len(background),
                         "auc": leak_auc(toxic, background, groups, args.folds, args.seed),
                         "auc_everyday": leak_auc(toxic, background, groups, args.folds, args.seed, everyday),
                         "precision_top": top, "precision_any": anyword})
            print(f"{toxic_name:<10} {name:<13} toxic={len(toxic)} ({rows[-1]['toxic_families']} families) "
                  f"background={len(background)} AUC={rows[-1]['auc']:.3f} "
                  f"everyday-word AUC={rows[-1]['auc_everyday']:.3f} precision top={top:.3f} any={anyword:.3f}",
                  flush=True)
    return rows


def main(args: Args) -> int:
    from qx_env.corpus import SynthConfig, compose, get_preset, synthesize

    data_dir = Path(args.data_dir)
    if args.leak:
        rows = leak_table(args)
        print(markdown_table(["toxic", "background", "n toxic (families)", "n background", "held-out AUC",
                              "AUC, everyday words only", f"precision at {args.leak_share:g}: top TF-IDF word",
                              "any word"],
                             [[r["toxic"], r["background"], f"{r['n_toxic']} ({r['toxic_families']})",
                               r["n_background"], r["auc"], r["auc_everyday"], r["precision_top"],
                               r["precision_any"]] for r in rows]))
        return 0
    for items in args.items:
        for share in args.toxic_share or (None,):
            config = SynthConfig(items=items, seed=args.seed, **({} if share is None else {"toxic_share": share}))
            started = time.perf_counter()
            snapshot = synthesize(config, progress=False)
            made = time.perf_counter() - started
            auc = heldout_ngram_auc(snapshot, args.seed)
            print(f"synth items={items} toxic_share={config.toxic_share} toxic={int(snapshot.labels.sum())} "
                  f"AUC={auc:.3f} (synth {made:.1f} s)", flush=True)
    if args.real:
        print(f"cold train->test AUC={cold_auc(data_dir):.3f}", flush=True)
        for preset in ("harm-zh", "fbs-zh"):
            snapshot = compose(get_preset(preset), data_dir=data_dir, seed=args.seed, progress=False)
            print(f"{preset} held-out clusters AUC={heldout_ngram_auc(snapshot, args.seed):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(parse_args(Args, __doc__.splitlines()[0])))
