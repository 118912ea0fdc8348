"""Policies in time over a real Lucene index: a source trained on the reports filed so far, at the end of the
weeks it is due, on exactly those reports (as posted, with the auditors' marks), asking nothing before its first
training; kept after one training or trained again; the same seed the same bytes; one clear error per bad input."""

from __future__ import annotations

import pytest

from qx_env.errors import QxError
from qx_env.online import ANNOTATION, FiledReport, Retrain, make_timeline, simulate_weeks

SPLITS = ("train", "dev", "test")


class PhraseMemory:
    """A user's own training function: remember every phrase the auditors marked on the filed reports, and ask
    the remembered phrases a text holds. Records what each training saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[FiledReport, ...]] = []

    def __call__(self, reports):
        self.seen.append(tuple(reports))
        phrases = sorted({p for r in reports for p in r.annotations if p})
        if not phrases:
            return None
        return lambda texts: [[p for p in phrases if p in t][:3] for t in texts]


@pytest.fixture(scope="module")
def runs(adaptive_world, campaign_snapshot):
    """28 days with the auditors and a phrase memory, once kept after week 1 and once trained every week."""
    world, system = adaptive_world
    timeline = make_timeline(campaign_snapshot, world.config, seed=0)
    out = {}
    for arm, retrain in (("kept", {"every": 1, "until": 1}), ("again", {"every": 1})):
        memory = PhraseMemory()
        result = simulate_weeks(world, timeline, system, {"human": ANNOTATION, "model": Retrain(memory, **retrain)},
                                split=SPLITS, seed=0)
        out[arm] = (memory, result)
    return timeline, out


def test_a_source_is_trained_at_the_end_of_its_weeks_on_every_report_filed_so_far(runs):
    _timeline, out = runs
    memory, result = out["again"]
    assert [f["week"] for f in result.fits] == [1, 2, 3]  # not after the last week: nothing left to ask
    assert [len(seen) for seen in memory.seen] == [f["reports"] for f in result.fits]
    for fit, seen in zip(result.fits, memory.seen):
        filed = [r["report_id"] for r in result.per_report if r["day"] <= fit["day"]]
        assert [r.report_id for r in seen] == filed  # exactly the reports filed by then, in filing order
        assert all(r.day <= fit["day"] for r in seen)
    assert memory.seen[0] and len(memory.seen[2]) > len(memory.seen[0])


def test_a_filed_report_is_its_listing_as_posted_with_the_auditors_marks(runs, adaptive_world):
    world, _ = adaptive_world
    timeline, out = runs
    memory, result = out["again"]
    reports = world.base.reports
    snapshot_marks = dict(zip(reports.column("report_id").to_pylist(), reports.column("annotations").to_pylist()))
    position = {rid: i for i, rid in enumerate(timeline.report_ids)}
    for report in memory.seen[-1]:
        item = int(timeline.report_items[position[report.report_id]])
        posted = int(result.posted[item])
        assert report.text == world.snapshot.texts[posted]
        if posted < len(world.base):  # posted in its snapshot wording: the snapshot's marks (a reworded version
            assert list(report.annotations) == snapshot_marks[report.report_id]  # carries them to its wording)


def test_before_its_first_training_a_source_asks_nothing(runs):
    _, out = runs
    for _, result in out.values():
        assert result.weeks[0]["by_source"]["model"]["queries"] == 0
        assert sum(w["by_source"]["model"]["queries"] for w in result.weeks[1:]) > 0


def test_a_kept_model_is_trained_once_and_matches_the_retrained_one_until_it_is_retrained(runs):
    _, out = runs
    kept_memory, kept = out["kept"]
    again_memory, again = out["again"]
    assert [f["week"] for f in kept.fits] == [1] and len(kept_memory.seen) == 1
    assert kept_memory.seen[0] == again_memory.seen[0]
    assert kept.weeks[:2] == again.weeks[:2]  # the same model through week 2, then the retrained one moves on
    assert [r for r in kept.per_report if r["week"] <= 2] == [r for r in again.per_report if r["week"] <= 2]


def test_retraining_gives_the_same_bytes_for_the_same_seed(runs, adaptive_world):
    world, system = adaptive_world
    timeline, out = runs
    _, first = out["again"]
    again = simulate_weeks(world, timeline, system, {"human": ANNOTATION, "model": Retrain(PhraseMemory(), 1)},
                           split=SPLITS, seed=0)
    assert again.to_json() == first.to_json() and '"fits"' in first.to_json()


@pytest.mark.parametrize(("options", "message"), [
    ({"fit": "memory"}, "fit must be a function"),
    ({"fit": PhraseMemory(), "every": 0}, "every must be a whole number"),
    ({"fit": PhraseMemory(), "every": 2, "until": 1}, "never be trained"),
    ({"fit": PhraseMemory(), "initial": "tfidf"}, "initial must be a function"),
])
def test_a_bad_schedule_is_one_clear_error(options, message):
    with pytest.raises(QxError, match=message):
        Retrain(**options)


def test_a_fit_that_gives_no_policy_is_one_clear_error(adaptive_world, campaign_snapshot):
    world, system = adaptive_world
    timeline = make_timeline(campaign_snapshot, world.config, seed=0)
    with pytest.raises(QxError, match="neither a policy with extract"):
        simulate_weeks(world, timeline, system, {"model": Retrain(lambda reports: 3)}, split=SPLITS, days=14)


def test_the_bench_learner_trains_seqlabel_on_filed_reports_and_waits_for_a_marked_phrase(campaign_snapshot):
    """``qx bench weeks --retrain seqlabel``'s fit: None (keep the current policy) while no filed report holds a
    phrase marked on it; else a sequence labeler trained on them, the same for the same reports."""
    from benchmarks.weeks import report_learner

    fit = report_learner("seqlabel:epochs=5", campaign_snapshot.language)
    reports = campaign_snapshot.reports
    filed = [FiledReport(rid, 0, text, tuple(marks)) for rid, text, marks in
             zip(reports.column("report_id").to_pylist(), campaign_snapshot.report_texts(reports),
                 reports.column("annotations").to_pylist())]
    assert fit([]) is None
    assert fit([FiledReport(r.report_id, 0, r.text, ("not in the text",)) for r in filed[:5]]) is None
    first, second = fit(filed), fit(filed)
    texts = [r.text for r in filed]
    assert first.extract(texts) == second.extract(texts)
    assert any(first.extract(texts))  # it learned to mark something
