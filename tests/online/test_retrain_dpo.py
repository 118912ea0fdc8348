"""Retraining through mining and DPO while weeks go by (a real Lucene index, the tiny model, trl's DPOTrainer):
the fit mines the current model's candidates and the auditors' marks on every report filed so far against the
platform as it stands, without taking anything down; pairs them by eq. 4; trains the next model from the current
one; and the weeks after ask the new model's queries."""

from __future__ import annotations

import json

import pytest

from qx_env.online import ANNOTATION, Retrain, make_timeline, simulate_weeks
from training import DPORetrainer, LoopArgs

SPLITS = ("train", "dev", "test")


@pytest.fixture(scope="module")
def tiny(campaign_snapshot, tmp_path_factory):
    """A very small model whose tokenizer is trained on the world's own texts (no indexed snapshot needed)."""
    from policies import TinyModelConfig, build_tiny_model

    config = TinyModelConfig(vocab_size=700, hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate_size=64)
    return build_tiny_model(campaign_snapshot, tmp_path_factory.mktemp("tiny") / "model", config)


def test_dpo_retraining_mines_the_platform_as_it_stands_and_asks_the_new_models_queries(
        adaptive_world, campaign_snapshot, tiny, tmp_path):
    world, system = adaptive_world
    timeline = make_timeline(campaign_snapshot, world.config, seed=0)
    args = LoopArgs(snapshot="", base=str(tiny), out=str(tmp_path / "retrain"), candidates=2, batch_size=2,
                    max_length=256, baselines=("annotation",))
    retrainer = DPORetrainer(args, campaign_snapshot.language)
    probed = []

    def fit(reports, probe):
        def watched(queries):
            alive = system.alive.copy()
            answers = probe(queries)
            assert (system.alive == alive).all()  # probing takes nothing down
            probed.append(dict(zip(queries, answers)))
            return answers
        return retrainer(reports, watched)

    result = simulate_weeks(world, timeline, system, {"human": ANNOTATION, "model": Retrain(fit, every=1, until=1)},
                            split=SPLITS, days=21, seed=0)
    assert [(f["week"], f["new"]) for f in result.fits] == [(1, True)]
    (training,) = retrainer.trainings
    assert training["reports"] == result.fits[0]["reports"] and training["pairs"] > 0
    assert training["model"] != str(tiny) and (tmp_path / "retrain" / "fit1" / "dpo").is_dir()
    pairs = [json.loads(line) for line in (tmp_path / "retrain" / "fit1" / "pairs-tau0.05.jsonl").open()]
    assert len(pairs) == training["pairs"]
    for pair in pairs:  # eq. 4 on the probed feedback: chosen at or above tau, rejected below
        assert pair["chosen_ratio"] >= args.tau > pair["rejected_ratio"]
    assert {p["chosen_policy"] for p in pairs} | {p["rejected_policy"] for p in pairs} <= {"model", "annotation"}
    # the probe answered what the platform showed: a query exposing toxic items counts them among what it exposed
    (answers,) = probed
    assert all(0 <= toxic <= exposed <= 100 for exposed, toxic in answers.values())
    assert any(toxic for _, toxic in answers.values())
    by_week = [w["by_source"]["model"]["queries"] for w in result.weeks]
    assert by_week[0] == 0 and sum(by_week[1:]) > 0  # nothing before the first model, the new model's after
