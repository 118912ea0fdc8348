"""Flags from a dataclass: a ``tuple[X, ...]`` field takes one comma-separated value, each element
converted to X (errors name the flag and the element), a :data:`SpecList` keeps each spec's options
(quoted commas too), and ``--help`` shows a tuple default as it is typed."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from qx_env.flags import (
    SpecList,
    add_dataclass_flags,
    comma_list,
    name_list,
    parse_dataclass,
    split_specs,
    use_help_formatter,
)
from qx_env.specs import format_spec, spec_options


@dataclass
class _Lists:
    seeds: tuple[int, ...] = (0, 1, 2)
    """Training seeds."""
    shares: tuple[float, ...] = (0.001, 0.03)
    """Sweep prevalences; empty skips the sweep."""
    names: tuple[str, ...] = ()
    """Corpora."""
    policies: SpecList = ("annotation", "tfidf:top=3")
    """Policy specs."""
    epochs: float = 1
    """Passes over the data."""


def _parse(*argv: str) -> _Lists:
    return parse_dataclass(_Lists, "x", list(argv))


def test_a_tuple_field_takes_a_comma_separated_value_of_its_element_type():
    assert _parse() == _Lists()
    parsed = _parse("--seeds", "0,1,2", "--shares", "0.5, 1e-3", "--names", "synth,harm-zh")
    assert parsed.seeds == (0, 1, 2) and parsed.shares == (0.5, 0.001) and parsed.names == ("synth", "harm-zh")
    assert _parse("--seeds", "7").seeds == (7,)


def test_comma_list_is_the_one_splitter_of_plain_lists_and_name_list_takes_a_sequence_or_a_string():
    assert comma_list("keyword, embedding,,graph ") == ["keyword", "embedding", "graph"]
    assert comma_list("") == [] == comma_list(" , ")
    assert name_list("test") == ["test"] and name_list("train,dev") == ["train", "dev"]
    assert name_list(("train", "dev")) == ["train", "dev"] and name_list([]) == []


def test_an_empty_value_is_the_empty_tuple():
    assert _parse("--shares", "").shares == ()
    assert _parse("--seeds", "", "--policies", "").seeds == () == _parse("--policies", "").policies


@pytest.mark.parametrize(("flag", "value", "bad", "kind"), [("--seeds", "0,x,2", "x", "an integer"),
                                                            ("--seeds", "0,1.5", "1.5", "an integer"),
                                                            ("--shares", "0.1,lots", "lots", "a number")])
def test_a_bad_element_is_refused_naming_the_flag_and_the_element(capsys, flag, value, bad, kind):
    with pytest.raises(SystemExit) as exit_:
        _parse(flag, value)
    assert exit_.value.code == 2
    assert f"argument {flag}: bad element {bad!r} in {value!r}: each must be {kind}" in capsys.readouterr().err


def test_help_shows_a_tuple_default_as_it_is_typed():
    parser = use_help_formatter(argparse.ArgumentParser(prog="x"))
    add_dataclass_flags(parser, _Lists)
    text = " ".join(parser.format_help().split())
    assert "--seeds SEEDS Training seeds. (default: 0,1,2)" in text
    assert "--shares SHARES Sweep prevalences; empty skips the sweep. (default: 0.001,0.03)" in text
    assert "--names NAMES Corpora. (default: '')" in text
    assert "--policies POLICIES Policy specs. (default: annotation,tfidf:top=3)" in text


def test_a_scalar_field_takes_its_annotated_type_not_its_defaults():
    assert _parse("--epochs", "0.5").epochs == 0.5  # float field, int default


def test_a_spec_list_keeps_each_specs_options_and_quoted_commas():
    assert split_specs("retrieval,oracle:auc=0.9,seed=2,lm:path=m,kind=judge,risk") == [
        "retrieval", "oracle:auc=0.9,seed=2", "lm:path=m,kind=judge", "risk"]
    assert split_specs("annotation, llm:path=m,num_beams=4,tfidf:top=3") == [
        "annotation", "llm:path=m,num_beams=4", "tfidf:top=3"]
    assert split_specs("") == [] == split_specs(" , ")
    spec = format_spec("llm", path='models/a,b "c"', num_beams=4)
    policies = _parse("--policies", f"annotation,{spec},tfidf").policies
    assert policies == ("annotation", spec, "tfidf")

    def llm(path: str = "", num_beams: int = 1):  # the options spec_options reads back
        return path, num_beams

    assert spec_options("policy", "llm", policies[1].partition(":")[2], llm) == {"path": 'models/a,b "c"',
                                                                                 "num_beams": 4}


def test_a_tuple_of_an_unsupported_element_type_is_a_programming_error():
    @dataclass
    class Bad:
        flags: tuple[bool, ...] = ()

    with pytest.raises(TypeError, match=r"tuple\[X, \.\.\.\] with X one of str, int, float"):
        add_dataclass_flags(argparse.ArgumentParser(), Bad)
