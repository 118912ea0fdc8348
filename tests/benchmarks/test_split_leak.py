"""The split-leak bench's count: a test report leaks when a training report is a near-duplicate of it."""

from __future__ import annotations

from benchmarks.split_leak import leak


def test_a_test_report_leaks_when_a_training_report_is_its_near_duplicate():
    texts = ["斗牛炸金花三公德州扑克玩的加我", "斗牛炸金花三公德州扑克玩的加我微信",  # near-duplicates
             "今天天气很好我们去公园散步吧", "这家店的牛肉面非常好吃推荐", "出售二手自行车九成新价格面议"]
    campaigns = ["a", "b", "c", "d", "e"]
    across = leak(texts, campaigns, ["test", "train", "train", "dev", "test"], "zh", cosine=0.4)
    assert across["test_reports"] == 2 and across["train_reports"] == 2
    assert across["leaking"] == 1 and across["leaking_strongly"] == 1 and across["test_campaigns_in_train"] == 0
    together = leak(texts, campaigns, ["test", "test", "train", "dev", "train"], "zh", cosine=0.4)
    assert together["leaking"] == 0
    one_campaign = leak(texts, ["a", "a", "c", "d", "e"], ["test", "train", "train", "dev", "test"], "zh", cosine=0.4)
    assert one_campaign["test_campaigns_in_train"] == 1
    assert across["shares"] == [0.4, 0.2, 0.4]
