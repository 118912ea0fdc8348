"""Spec strings: values that hold commas, quotes or spaces are double-quoted by ``format_spec`` and
read back intact by the policy and ranker registries; an unbalanced quote is refused with the spec
named; plain specs parse as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from policies import make_policy
from qx_env.errors import QxError
from qx_env.rankers import make_ranker, parse_ranker, write_scores
from qx_env.specs import format_spec, spec_options

AWKWARD = ["models/a,b", 'say "hi"', "back\\slash", "trailing\\", "k=v,w=x", "two  spaces\tand tab", "",
           "C:/models/judge", "模型,一", "'single'"]


def test_format_spec_quotes_only_the_values_that_need_it():
    assert format_spec("tfidf", top=3) == "tfidf:top=3"
    assert format_spec("lm", path="models/final", kind="judge") == "lm:path=models/final,kind=judge"
    assert format_spec("llm", path="models/a,b", max_new_tokens=64) == 'llm:path="models/a,b",max_new_tokens=64'
    assert format_spec("llm", path='a"b\\c') == r'llm:path="a\"b\\c"'
    assert format_spec("llm", path="m", adapter=None, grounded=True) == "llm:path=m,grounded=true"
    assert format_spec("annotation") == "annotation"
    with pytest.raises(QxError, match="spec name 'a:b'"):
        format_spec("a:b", top=1)


@pytest.mark.parametrize("value", AWKWARD)
def test_a_string_value_round_trips_through_the_policy_registry(value):
    spec = format_spec("openai", base_url="http://localhost:1/v1", model=value or "m", cache=value or "off")
    policy = make_policy(spec)  # the openai policy keeps its string options and sends nothing until asked
    assert policy.model == (value or "m")
    assert policy.cache_dir == (Path(value) if value else None)


def test_a_model_path_with_a_comma_reaches_the_llm_policy_whole():
    from policies._llm import LLMPolicy

    spec = format_spec("llm", path="models/a,b", max_new_tokens=64, grounded=True)
    assert spec == 'llm:path="models/a,b",max_new_tokens=64,grounded=true'
    name, _, arguments = spec.partition(":")
    assert spec_options("policy", name, arguments, LLMPolicy.__init__) == {
        "path": "models/a,b", "max_new_tokens": 64, "grounded": True}


def test_a_score_directory_with_a_comma_loads_through_the_ranker_registry(snapshot_factory, tmp_path):
    snapshot = snapshot_factory(["甲", "乙", "丙"], [0, 1, 0], path=tmp_path / "snapshot")
    scores = np.array([0.1, 0.9, 0.2], dtype=np.float32)
    directory = write_scores(tmp_path / 'scores, "run 2"', snapshot, scores, {"ranker": "test"})
    ranker = make_ranker(format_spec("scores", path=directory), snapshot)
    np.testing.assert_array_equal(ranker.scores(), scores)
    assert parse_ranker(format_spec("lm", path="models/a,b", kind="judge"))[1] == {"path": "models/a,b",
                                                                                  "kind": "judge"}


@pytest.mark.parametrize("spec", ['llm:path="models/a,b', 'llm:path="models/a,b\\"', "llm:path=models/a\\"])
def test_an_unbalanced_quote_or_a_dangling_backslash_is_refused_with_the_spec_named(spec):
    with pytest.raises(QxError, match="no closing quotation|no escaped character") as error:
        make_policy(spec)
    assert f"policy spec {spec!r}" in str(error.value)
    with pytest.raises(QxError, match="no closing quotation") as error:
        parse_ranker('lm:path="models/a,b,kind=judge')
    assert "ranker spec 'lm:path=\"models/a,b,kind=judge'" in str(error.value)


def test_plain_specs_parse_as_before():
    from policies._llm import LLMPolicy

    def options(arguments):
        return spec_options("policy", "llm", arguments, LLMPolicy.__init__)

    assert options("") == {}
    assert options("path=models/m,num_beams=4,,max_new_tokens=64,") == {"path": "models/m", "num_beams": 4,
                                                                         "max_new_tokens": 64}
    assert options("path=C:/x:y,adapter=a=b") == {"path": "C:/x:y", "adapter": "a=b"}
    assert options("path='models/m'") == {"path": "'models/m'"}  # single quotes are no quotes
    with pytest.raises(QxError, match="bad option 'depth=2'"):
        options("depth=2")
    with pytest.raises(QxError, match="option num_beams='four' should be like 1"):
        options("num_beams=four")
    assert make_policy("textrank:top=3,language=en").top == 3
