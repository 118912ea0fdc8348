"""Families of toxic texts when composing: twins filed under other categories and a corpus's own groups
share a split, and a planted share keeps families before singletons."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from qx_env import CorpusSourceError
from qx_env.corpus import Source, compose
from qx_env.corpus.compose import DEFAULT_SINGLETON_SHARE, summary_lines
from qx_env.corpus.compose._clusters import cluster_texts
from qx_env.corpus.synth import SynthConfig

#: Characters the toy posts are written with, and emoji a disguised twin puts in their place.
HAN = "的一是不了人我在有他这中大来上个们到说和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然"
EMOJI = "😀🐶🐷💩🔥👍🙄🤡"


def _post(rng: random.Random) -> str:
    return "".join(rng.choice(HAN) for _ in range(16))


def _emoji_twin(post: str, rng: random.Random) -> str:
    chars = list(post)
    for position in rng.sample(range(len(chars)), 2):
        chars[position] = rng.choice(EMOJI)
    return "".join(chars)


def _homophone_twin(post: str, rng: random.Random) -> str:
    """Half the characters replaced: too far for the near-duplicate rule, linked only by the post id."""
    chars = list(post)
    for position in rng.sample(range(len(chars)), 10):
        chars[position] = rng.choice(HAN)
    return "".join(chars)


@pytest.fixture()
def cloaked(tmp_path):
    """A ToxiCloakCN-like toy: base posts in base.csv, their emoji twins in emoji.csv and homophone twins in
    homophone.csv (other files, so other categories), each row with its post id; plus normal posts."""
    rng = random.Random(3)
    posts = [_post(rng) for _ in range(40)]
    files = {
        "base": [(p, 1, f"p{i}") for i, p in enumerate(posts)],
        "emoji": [(_emoji_twin(p, rng), 1, f"p{i}") for i, p in enumerate(posts)],
        "homophone": [(_homophone_twin(p, rng), 1, f"p{i}") for i, p in enumerate(posts)],
        "normal": [(_post(rng), 0, f"n{i}") for i in range(300)],
    }
    sources = []
    for name, rows in files.items():
        path = tmp_path / f"{name}.csv"
        pd.DataFrame(rows, columns=["text", "label", "post"]).to_csv(path, index=False)
        sources.append(path)
    return sources


def _sources(paths, group_col=None):
    return [Source(path=str(p), text_col="text", label_col="label", category=p.stem, group_col=group_col)
            for p in paths]


def _families(snapshot) -> pd.DataFrame:
    items = snapshot.items.select(["id", "text", "label", "category", "cluster_id"]).to_pandas()
    reports = snapshot.reports.select(["item_id", "split"]).to_pandas().rename(columns={"item_id": "id"})
    return items.merge(reports, on="id", how="left")


def test_a_post_and_its_twin_in_another_file_share_a_split(cloaked):
    base, emoji = cloaked[0], cloaked[1]
    texts = pd.read_csv(base)["text"].tolist() + pd.read_csv(emoji)["text"].tolist()
    categories = ["base"] * 40 + ["emoji"] * 40
    # clustered within each category alone, every post and its twin fall apart (and so may their splits)
    alone = cluster_texts(texts, categories, "zh", seed=0, cluster_size=20)
    assert all(alone[i] != alone[40 + i] for i in range(40))
    snapshot = compose(_sources([base, emoji, cloaked[3]]), language="zh", report_share=1.0, progress=False)
    rows = _families(snapshot)
    by_text = rows.set_index("text")
    pairs = [(by_text.loc[texts[i]], by_text.loc[texts[40 + i]]) for i in range(40)]
    assert all(a["cluster_id"] == b["cluster_id"] for a, b in pairs)
    assert all(a["split"] == b["split"] for a, b in pairs)
    assert len({a["split"] for a, _ in pairs}) == 3  # the families are spread over train, dev and test
    families = snapshot.meta.generator["composition"]["families"]
    assert families["near_duplicate_pairs_across_categories"] >= 40 and families["families_made"] >= 40
    lines = summary_lines(snapshot.meta.generator["composition"])
    assert any(line.startswith("  families joined across categories or groups: ") for line in lines)


def test_group_col_keeps_a_corpus_own_families_in_one_split(cloaked):
    def split_of_posts(snapshot):
        rows = _families(snapshot)
        rows = rows[rows["label"] == 1]
        post = {t: p for path in cloaked[:3] for t, p in pd.read_csv(path)[["text", "post"]].itertuples(index=False)}
        rows["post"] = rows["text"].map(post)
        return rows.groupby("post")["split"].nunique()

    without = compose(_sources(cloaked), language="zh", report_share=1.0, progress=False)
    assert (split_of_posts(without) > 1).sum() > 5  # homophone twins are too far to be near-duplicates
    grouped = compose(_sources(cloaked, group_col="post"), language="zh", report_share=1.0, progress=False)
    assert (split_of_posts(grouped) == 1).all()
    families = grouped.meta.generator["composition"]["families"]
    assert families["grouped_rows"] == 120  # the toxic rows; normal rows are not reported, no split to keep
    with pytest.raises(CorpusSourceError, match="no column 'thread' for the group"):
        compose(_sources(cloaked, group_col="thread"), language="zh", progress=False)


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))


def _campaigns_among_singletons(tmp_path, families: int, size: int, singletons: int, normals: int) -> Source:
    """An English CSV: ``families`` near-duplicate campaigns of ``size`` texts among ``singletons``
    lone toxic texts, and ``normals`` normal texts."""
    rng = random.Random(7)
    rows = []
    for campaign in range(families):
        core = " ".join(_word(rng) for _ in range(8))
        rows += [(f"{core} {_word(rng)} contact {campaign}{v}", 1) for v in range(size)]
    rows += [(" ".join(_word(rng) for _ in range(10)), 1) for _ in range(singletons)]
    rows += [(" ".join(_word(rng) for _ in range(9)), 0) for _ in range(normals)]
    path = tmp_path / "campaigns.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return Source(path=str(path), text_col="text", label_col="label")


def test_planting_keeps_families_before_singletons(tmp_path):
    assert DEFAULT_SINGLETON_SHARE == SynthConfig.singleton_share == 0.24  # measured on fbs_sms (see SynthConfig)
    source = _campaigns_among_singletons(tmp_path, families=12, size=6, singletons=600, normals=20_000)
    for seed in range(3):
        snapshot = compose([source], language="en", toxic_share=0.003, cluster_size=6, seed=seed, progress=False)
        toxic = snapshot.meta.generator["composition"]["toxic"]
        kept = toxic["items"]["kept"]
        assert kept == 60  # floor(0.003 * 20,000 / 0.997)
        assert toxic["singletons"]["kept"] <= round(DEFAULT_SINGLETON_SHARE * kept)
        assert toxic["clusters"]["kept"] >= 8 and toxic["clustered_items"]["kept"] >= kept - round(0.24 * kept)
    line = next(x for x in summary_lines(snapshot.meta.generator["composition"]) if "families (clusters" in x)
    assert f"family items kept {toxic['clustered_items']['kept']} of 72" in line and "at most 24% asked" in line
    # all singletons asked for: the rule is what keeps the families (visiting clusters at random among 600
    # singletons, the earlier rule, kept about one)
    lone = compose([source], language="en", toxic_share=0.003, cluster_size=6, singleton_share=1.0, progress=False)
    assert lone.meta.generator["composition"]["toxic"]["clusters"]["kept"] == 0


def test_a_source_with_few_families_keeps_them_all(tmp_path):
    source = _campaigns_among_singletons(tmp_path, families=2, size=3, singletons=300, normals=20_000)
    snapshot = compose([source], language="en", toxic_share=0.003, cluster_size=3, progress=False)
    toxic = snapshot.meta.generator["composition"]["toxic"]
    assert toxic["clusters"] == {"available": 2, "kept": 2, "dropped": 0}
    assert toxic["items"]["kept"] == 60 and toxic["singletons"]["kept"] == 54
    with pytest.raises(CorpusSourceError, match=r"--singleton-share must be in \[0, 1\]"):
        compose([source], language="en", toxic_share=0.003, singleton_share=1.5, progress=False)


def test_near_duplicates_in_different_campaigns_of_one_category_share_a_split(tmp_path):
    """k-means cuts a chain of near-duplicates within one category into several campaigns; the split keeps
    the campaigns holding near-duplicates of each other together (a split group), while each stays its own
    campaign."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    rng = random.Random(5)
    chains = []
    for _ in range(6):  # each chain: a post mutated a character at a time, 12 steps
        post = list(_post(rng))
        for _ in range(12):
            post[rng.randrange(len(post))] = rng.choice(HAN)
            chains.append("".join(post))
    rows = [(t, 1) for t in chains] + [(_post(rng), 0) for _ in range(400)]
    path = tmp_path / "chains.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    snapshot = compose([Source(path=str(path), text_col="text", label_col="label")], language="zh",
                       report_share=1.0, cluster_size=4, progress=False)
    rows = _families(snapshot)
    toxic = rows[rows["label"] == 1].reset_index(drop=True)
    matrix = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True).fit_transform(toxic["text"])
    similar = (matrix @ matrix.T).toarray() >= 0.4
    first, second = np.nonzero(np.triu(similar, 1))
    across = toxic["cluster_id"].to_numpy()[first] != toxic["cluster_id"].to_numpy()[second]
    assert across.sum() > 10  # near-duplicates the campaigns (clusters of about 4) cut apart
    splits = toxic["split"].to_numpy()
    assert (splits[first] == splits[second]).all()
    grouping = snapshot.meta.generator["composition"]["families"]["split_groups"]
    assert grouping["near_duplicate_pairs_across_families"] == across.sum() and grouping["groups_made"] >= 1
    assert toxic["cluster_id"].nunique() > snapshot.items.column("split_group").to_pandas().nunique()
    # re-splitting the saved snapshot keeps the groups together too
    from qx_env.snapshot import SplitRule

    snapshot.save(tmp_path / "s")
    from qx_env.snapshot import Snapshot

    again = _families(Snapshot.load(tmp_path / "s").resplit(SplitRule("campaign", 9, (0.5, 0.2, 0.3))))
    again = again[again["label"] == 1].set_index("text").loc[toxic["text"], "split"].to_numpy()
    assert (again[first] == again[second]).all()
