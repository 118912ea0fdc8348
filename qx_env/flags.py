"""Command-line flags made from a dataclass of arguments (CleanRL style).

Each field becomes one ``--field-name`` flag whose help text is the field's docstring (the string
literal on the line after it, as in PEP 257's attribute docstrings) and whose default is the field's
default, shown in ``--help``. Fields without a default are required; booleans get ``--x/--no-x``.
``qx`` and the benchmark scripts use this one mechanism.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import itertools
import textwrap
from dataclasses import MISSING, fields
from functools import cache
from typing import Any


@cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring of each field of the dataclass ``cls`` (base classes first), one line each."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = next((node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)), None)
        if body is None:
            continue
        statements = body.body
        for statement, following in itertools.pairwise(statements):
            if (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                    and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                docs[statement.target.id] = " ".join(following.value.value.split())
    return docs


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, defaults: dict[str, Any] | None = None,
                        skip: tuple[str, ...] = ()) -> None:
    """One flag per field of ``cls`` (``defaults`` override field defaults; ``skip`` names fields left out)."""
    docs = field_docs(cls)
    for field in fields(cls):
        if field.name in skip or field.default is MISSING and field.default_factory is not MISSING:
            continue
        flag = f"--{field.name.replace('_', '-')}"
        helptext = docs.get(field.name, "").replace("%", "%%")  # argparse %-formats help
        default = (defaults or {}).get(field.name, field.default)
        if default is MISSING:
            parser.add_argument(flag, required=True, help=helptext)
        elif isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=helptext)
        else:
            parser.add_argument(flag, type=type(default), default=default, help=helptext)


def dataclass_from_flags(cls: type, args: argparse.Namespace, **overrides: Any):
    """An instance of ``cls`` from parsed flags (fields the parser has), with ``overrides``."""
    values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
    return cls(**{**values, **overrides})


def parse_dataclass(cls: type, description: str, argv=None):
    """An instance of the dataclass ``cls`` from ``--field value`` flags (a script's own parser)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    add_dataclass_flags(parser, cls)
    return dataclass_from_flags(cls, parser.parse_args(argv))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` that shows every optional flag's default and marks required flags."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required and action.option_strings:
            return f"{text} (required)".strip()
        if (action.option_strings and action.default is not argparse.SUPPRESS and action.nargs != 0
                and "%(default)" not in text and not isinstance(action, argparse._HelpAction)):
            shown = "none" if action.default is None else "%(default)r" if action.default == "" else "%(default)s"
            return f"{text} (default: {shown})".strip()
        return text


def use_help_formatter(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give ``parser`` and every subcommand parser under it the :class:`HelpFormatter`."""
    parser.formatter_class = HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                use_help_formatter(sub)
    return parser
