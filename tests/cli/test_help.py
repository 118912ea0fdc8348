"""Every flag of every ``qx`` command has one line of help and shows its default; required flags
are marked required by the parser."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from qx_env.cli import build_parser
from qx_env.flags import add_dataclass_flags, field_docs, parse_dataclass, use_help_formatter


def _commands(parser: argparse.ArgumentParser, prefix: str = "qx"):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, f"{prefix} {name}")


def _flags(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        yield action, (action.option_strings[-1] if action.option_strings else action.dest)


def test_every_flag_of_every_command_has_help():
    missing = [f"{command} {name}" for command, parser in _commands(build_parser())
               for action, name in _flags(parser) if not (action.help or "").strip()]
    assert missing == []


def test_help_shows_every_default_and_marks_required():
    for command, parser in _commands(build_parser()):
        formatter = parser._get_formatter()
        for action, name in _flags(parser):
            if not action.option_strings or not (action.help or "").strip():
                continue
            shown = formatter._get_help_string(action)  # this flag's own help line, not the whole page
            if action.required:
                assert shown.endswith("(required)"), f"{command} {name}: {shown!r}"
            elif action.nargs != 0:
                assert "(default: " in shown, f"{command} {name}: {shown!r}"


@dataclass
class _Args:
    steps: int = 3
    """Optimizer steps."""
    name: str = ""
    """Run name;
    empty for none."""
    out: str = ""
    fast: bool = False
    """Skip the slow part."""


@dataclass
class _Required:
    path: str
    """Where the data is."""


def test_field_docstrings_become_help_and_defaults_show():
    assert field_docs(_Args) == {"steps": "Optimizer steps.", "name": "Run name; empty for none.",
                                 "fast": "Skip the slow part."}
    parser = use_help_formatter(argparse.ArgumentParser(prog="x"))
    add_dataclass_flags(parser, _Args)
    text = " ".join(parser.format_help().split())
    assert "--steps STEPS Optimizer steps. (default: 3)" in text
    assert "--name NAME Run name; empty for none. (default: '')" in text
    assert parse_dataclass(_Args, "x", ["--steps", "5", "--fast"]) == _Args(steps=5, fast=True)


def test_required_field_is_required_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        parse_dataclass(_Required, "x", [])
    assert "--path" in capsys.readouterr().err
    assert parse_dataclass(_Required, "x", ["--path", "p"]).path == "p"
