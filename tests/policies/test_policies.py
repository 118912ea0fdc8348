"""The extractive policies on a small snapshot: well-formed, deterministic, registered by spec."""

from __future__ import annotations

import pytest

from policies import POLICIES, make_policy
from qx_env import QxError
from qx_env.cli import main

SPECS = ["annotation", "tfidf:top=3", "ngram:top=2", "textrank:top=3", "oracle:top=2,pool=10"]


@pytest.fixture(scope="module")
def report_texts(indexed_snapshot):
    return indexed_snapshot.report_texts()[:6]


@pytest.mark.parametrize("spec", SPECS)
def test_each_policy_returns_well_formed_queries(indexed_snapshot, report_texts, spec):
    policy = make_policy(spec, indexed_snapshot)
    out = policy.extract(report_texts + ["", "🐟🐟"])
    assert len(out) == len(report_texts) + 2
    assert out[-2] == [] and all(isinstance(q, list) for q in out)
    for queries in out:
        assert all(isinstance(q, str) and q.strip() == q and q for q in queries)
        assert len(set(queries)) == len(queries)
    assert sum(map(len, out[:-2])) > 0
    top = dict(item.split("=") for item in spec.partition(":")[2].split(",") if item).get("top")
    if top and spec.split(":")[0] != "annotation":
        assert all(len(q) <= int(top) for q in out)


def test_annotation_replays_the_auditors(indexed_snapshot, report_texts):
    out = make_policy("annotation", indexed_snapshot).extract(report_texts)
    assert out == indexed_snapshot.reports.column("annotations").to_pylist()[: len(report_texts)]


@pytest.mark.parametrize("spec", ["tfidf", "ngram"])
def test_deterministic(indexed_snapshot, report_texts, spec):
    assert make_policy(spec, indexed_snapshot).extract(report_texts) == make_policy(
        spec, indexed_snapshot).extract(report_texts)


def test_ngram_prefers_rare_shared_phrases(indexed_snapshot, report_texts):
    from indexes import KeywordIndex

    policy = make_policy("ngram:top=3", indexed_snapshot)
    index = KeywordIndex.open(indexed_snapshot)
    for text, queries in zip(report_texts, policy.extract(report_texts)):
        counts = [index.count(q) for q in queries]
        assert all(c >= 2 for c in counts) and counts == sorted(counts)
        assert all(q.lower() in text.lower() for q in queries)


def test_oracle_is_marked_and_beats_tfidf(indexed_snapshot, report_texts):
    assert POLICIES["oracle"].uses_labels and not POLICIES["tfidf"].uses_labels
    from qx_env.metrics import evaluate_queries
    from qx_env.search import SearchSystem

    system = SearchSystem(indexed_snapshot, build=False)
    rows = indexed_snapshot.reports.to_pylist()[:6]
    scores = {}
    for spec in ("oracle:top=2,pool=20", "tfidf:top=2"):
        extracted = make_policy(spec, indexed_snapshot).extract([indexed_snapshot.texts[
            indexed_snapshot.position_of[r["item_id"]]] for r in rows])
        metrics = evaluate_queries(system, {r["report_id"]: q for r, q in zip(rows, extracted)}).metrics
        scores[spec] = metrics.hit_at_k
    assert scores["oracle:top=2,pool=20"] >= scores["tfidf:top=2"]


def test_bad_specs(indexed_snapshot):
    with pytest.raises(QxError, match="unknown policy 'gpt'"):
        make_policy("gpt", indexed_snapshot)
    with pytest.raises(QxError, match="bad option 'depth=2'.*takes top"):
        make_policy("tfidf:depth=2", indexed_snapshot)
    with pytest.raises(QxError, match="should be like 3"):
        make_policy("tfidf:top=many", indexed_snapshot)
    with pytest.raises(QxError, match="fitted on a snapshot"):
        make_policy("tfidf", None)


def test_extract_cli(indexed_snapshot, capsys):
    assert main(["extract", "--policy", "textrank:top=2,language=zh", "出售红腹水虎小苗，同城自提，价格可议"]) == 0
    assert "->" in capsys.readouterr().out
    assert main(["extract", "--policy", "tfidf", "--snapshot", str(indexed_snapshot.path), "--json", "毕业证复刻"]) == 0
    assert '"queries"' in capsys.readouterr().out


@pytest.mark.parametrize(("spec", "message"), [
    ("tfidf:top=0", "policy 'tfidf': top must be >= 1, got 0"),
    ("tfidf:top=-2", "policy 'tfidf': top must be >= 1, got -2"),
    ("textrank:top=0", "policy 'textrank': top must be >= 1, got 0"),
    ("ngram:min_df=0", "policy 'ngram': min_df must be >= 1, got 0"),
    ("ngram:min_n=4,max_n=2", r"policy 'ngram': min_n \(4\) must not exceed max_n \(2\)"),
    ("oracle:pool=0", "policy 'oracle': pool must be >= 1, got 0"),
    ("llm:path=nowhere,temperature=-0.5", "policy 'llm': temperature must be >= 0, got -0.5"),
    ("llm:path=nowhere,num_beams=0", "policy 'llm': num_beams must be >= 1, got 0"),
    ("llm:path=nowhere,temperature=inf", "policy 'llm': option temperature='inf' should be like 0.0"),
    ("seqlabel:lr=0", "policy 'seqlabel': lr must be > 0, got 0"),
])
def test_numeric_options_out_of_range_are_refused(indexed_snapshot, spec, message):
    with pytest.raises(QxError, match=message):
        make_policy(spec, indexed_snapshot)


def test_every_numeric_option_of_every_policy_has_a_bound():
    import importlib
    import inspect

    from policies._base import DEFERRED, OPTION_BOUNDS

    for module in DEFERRED.values():  # the policies imported on first use register on import
        importlib.import_module(module)
    unbounded = [f"{name}:{option}" for name, cls in POLICIES.items()
                 for option, parameter in inspect.signature(cls.__init__).parameters.items()
                 if type(parameter.default) in (int, float) and option not in OPTION_BOUNDS]
    assert unbounded == [] and {"llm", "seqlabel", "tfidf", "ngram", "oracle", "textrank"} <= set(POLICIES)


def test_a_policy_without_its_snapshot_says_how_to_give_one(capsys):
    with pytest.raises(QxError, match=r"pass one, e.g. make_policy\('tfidf', snapshot\) or TfidfPolicy\(snapshot\)"):
        make_policy("tfidf", None)
    assert main(["extract", "--policy", "ngram", "毕业证复刻"]) == 2
    assert capsys.readouterr().err.strip() == "qx: error: policy 'ngram' is fitted on a snapshot: give --snapshot DIR"
    assert main(["extract", "--policy", "seqlabel", "毕业证复刻"]) == 2
    assert capsys.readouterr().err.strip() == ("qx: error: policy 'seqlabel' is fitted on a snapshot: give --snapshot DIR "
                                               "(or path=DIR of a trained model)")


def test_random_span_returns_spans_of_the_text_as_long_as_the_annotations(synth_snapshot):
    from policies import make_policy
    from policies._random_span import span_length

    policy = make_policy("random-span:top=3", synth_snapshot)
    annotated = {span_length(p, "zh") for phrases in synth_snapshot.reports_in("train").column("annotations").to_pylist()
                 for p in phrases}
    texts = synth_snapshot.report_texts()[:50]
    spans = policy.extract(texts)
    assert all(0 < len(s) <= 3 for s in spans)
    assert all(span in text for text, row in zip(texts, spans) for span in row)
    lengths = [len(span) for row in spans for span in row]
    assert max(lengths) <= max(annotated)  # a span may be shorter: cut at the text's end, or stripped of spaces
    assert sum(n in annotated for n in lengths) >= 0.9 * len(lengths)
    assert policy.extract(texts[::-1]) == spans[::-1]  # a text's spans do not depend on the batch
    assert make_policy("random-span:seed=1", synth_snapshot).extract(texts) != spans


def test_tfidf_counts_a_saved_snapshot_once_and_keeps_the_counts_beside_it(synth_snapshot, tmp_path):
    from policies import _extractive
    from policies._extractive import FREQUENCIES_FILE, TfidfPolicy
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(synth_snapshot.save(tmp_path / "s"))
    kept = snapshot.path / FREQUENCIES_FILE.format(language="zh")
    texts = snapshot.report_texts()[:20]
    counted = TfidfPolicy(snapshot).extract(texts)
    assert kept.is_file() and counted == TfidfPolicy(synth_snapshot).extract(texts)  # unsaved: counted in memory
    _extractive._frequencies.clear()
    assert TfidfPolicy(snapshot).extract(texts) == counted  # read back from the file
    kept.write_text("{damaged")
    _extractive._frequencies.clear()
    assert TfidfPolicy(snapshot).extract(texts) == counted and kept.read_text().startswith("{\"items_fingerprint\"")
