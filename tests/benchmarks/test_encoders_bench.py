"""The encoders benchmark end to end on toy files laid out like shared/data: both tables, the result file."""

from __future__ import annotations

import json

from benchmarks.encoders import Args, main, rewrite_clauses, rewrite_traditional


def _toy_data(root):
    shopping = root / "online_shopping_10_cats"
    shopping.mkdir(parents=True)
    texts = [f"这{unit}{thing}{verdict}，{extra}，{n}号买的" for unit, thing in (("件", "衣服"), ("台", "电脑"),
                                                                       ("本", "书"), ("个", "电饭锅"))
             for verdict in ("质量很好", "颜色难看", "价格便宜", "发货太慢", "做工粗糙")
             for extra in ("物流很快", "客服态度差", "包装简陋") for n in range(2)]
    rows = ["cat,label,review"] + [f"衣服,1,{t}" for t in texts]
    (shopping / "online_shopping_10_cats.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    fbs = root / "fbs_sms"
    fbs.mkdir()
    campaign = [f"尊敬的 客户 您的 积分 {n} 即将 过期 请 登录 网站 兑换 礼品 {city}" for n in range(20)
                for city in ("北京", "上海")]
    (fbs / "FR__Phishing_Bank.txt").write_text("\n".join(campaign) + "\n", encoding="utf-8")
    sms = root / "sms_spam_collection_uci"
    sms.mkdir()
    lines = ["Label\tSMS"] + [f"ham\tSee you at {p} at {h} pm, bring the {x}, thanks" for p in ("home", "work", "school")
                              for h in range(1, 11) for x in ("book", "keys")]
    lines += [f"spam\tWIN a free {x} now, call 0800{n:04d}, claim your prize today" for x in ("phone", "trip")
              for n in range(20)]
    (sms / "SMSSpamCollection").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_rewrites_keep_the_words_and_change_the_wording():
    import numpy as np

    rng = np.random.default_rng(0)
    assert rewrite_clauses("质量很好，物流很快，价格便宜", rng).count("，") == 1
    assert rewrite_clauses("两句话，而已", rng) is None
    assert rewrite_traditional("这个质量很好") == "這個質量很好"


def test_encoders_benchmark_writes_tables_and_relations_hold(tmp_path):
    data = tmp_path / "data"
    _toy_data(data)
    out = tmp_path / "encoders"
    result = main(Args(data_dir=str(data), encoders=("ngram", "use"), corpus=400, pairs=20, spans=20, speed_texts=16,
                       threads=(1,), batch_sizes=(1, 4), out=str(out)))
    assert [(r["language"], r["encoder"]) for r in result["speed"]] == [("zh", "ngram"), ("zh", "use"),
                                                                        ("en", "ngram"), ("en", "use")]
    assert all(r["texts_per_s"]["1"] > 0 and r["texts_per_s"]["4"] > 0 for r in result["speed"])
    assert {r["encoder"]: r["dim"] for r in result["speed"]}["use"] == 512
    rows = {(r["language"], r["encoder"]): r for r in result["quality"]}
    assert set(rows) == {("zh", "ngram"), ("zh", "use"), ("en", "ngram"), ("en", "use")}
    for row in rows.values():
        assert 0 <= row["span_r100_cut"] <= row["span_r100"] <= 1
        assert row["para_clauses_r10"] > 0.5  # a rewrite of a text finds it among a few hundred
        assert row["cut_above_junk"] >= row["junk_max_cos"]
        assert row["junk_items_above_cut"] <= row["items"]
    assert "para_s2t_r10" in rows["zh", "use"] and "para_s2t_r10" not in rows["en", "use"]
    assert rows["zh", "use"]["para_s2t_r10"] >= rows["zh", "ngram"]["para_s2t_r10"]  # n-grams of another script
    assert result["queries"]["zh"]["duplicates"] > 0  # the campaign messages pair up
    saved = json.loads((out / "results.json").read_text())
    assert saved["config"]["corpus"] == 400 and len(saved["quality"]) == 4
    table = (out / "table.md").read_text()
    assert "### Speed" in table and "| zh | use |" in table
    assert list((out / "cache").glob("use-*/*.vectors.npy"))  # pretrained encodings are cached for a rerun
