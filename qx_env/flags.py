"""Command-line flags made from a dataclass of arguments (CleanRL style).

Each field becomes one ``--field-name`` flag whose help text is the field's docstring (the string
literal on the line after it, as in PEP 257's attribute docstrings) and whose default is the field's
default, shown in ``--help``. Fields without a default are required; booleans get ``--x/--no-x``;
a ``tuple[X, ...]`` field takes one comma-separated value (``--seeds 0,1,2``, split by
:func:`comma_list`; ``--seeds ""`` is the empty tuple), each element converted to ``X``, and a
:data:`SpecList` field a list of spec strings whose own options stay with them. The type comes
from the field's annotation. ``qx`` and the benchmark scripts use this one mechanism.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import itertools
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import MISSING, fields
from functools import cache
from typing import Annotated, Any, get_args, get_origin, get_type_hints

#: Element types a ``tuple[X, ...]`` field may hold, as its errors name them.
_ELEMENTS = {str: "a string", int: "an integer", float: "a number"}


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


def comma_list(text: str) -> list[str]:
    """The comma-separated pieces of ``text``, stripped; empty pieces (and so ``""``) give none:
    ``"keyword, embedding"`` -> ``["keyword", "embedding"]``. The one splitter of plain lists given on
    the command line (``--modes``, ``--split``); spec lists use :func:`split_specs`."""
    return [piece for piece in (p.strip() for p in text.split(",")) if piece]


def name_list(names: str | Sequence[str]) -> list[str]:
    """Names (splits, modes) given as a sequence, or as one string of one name or comma-separated
    names (:func:`comma_list`): ``"test"`` -> ``["test"]``, ``("train", "dev")`` -> ``["train", "dev"]``."""
    return comma_list(names) if isinstance(names, str) else list(names)


def split_specs(text: str) -> list[str]:
    """Spec strings (:mod:`qx_env.specs`) from a comma-separated list, each keeping its own options:
    a piece that starts ``key=`` belongs to the spec before it, and a comma inside a double-quoted
    value is no separator. ``'annotation,llm:path="m,1",num_beams=4,tfidf'`` ->
    ``["annotation", 'llm:path="m,1",num_beams=4', "tfidf"]``."""
    pieces, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    specs: list[str] = []
    for piece in (p.strip() for p in pieces):
        if re.match(r"^\w+=", piece) and specs:  # key=value: an option of the spec before it
            specs[-1] += "," + piece
        elif piece:
            specs.append(piece)
    return specs


#: A field holding spec strings (policies, rankers, modes), one flag for all:
#: ``--policies annotation,tfidf:top=3,llm:path=M,num_beams=4`` (see :func:`split_specs`).
SpecList = Annotated[tuple[str, ...], split_specs]


class _ListOf:
    """The argparse ``type`` of a ``tuple[X, ...]`` field: a comma-separated value -> a tuple of X;
    an element that is not an X is refused with argparse's error naming the flag."""

    def __init__(self, element: type, split: Callable[[str], list[str]] = comma_list) -> None:
        self.element, self.split = element, split

    def __call__(self, text: str) -> tuple:
        values = []
        for piece in self.split(text):
            try:
                values.append(self.element(piece))
            except ValueError:
                raise argparse.ArgumentTypeError(f"bad element {piece!r} in {text!r}: each must be "
                                                 f"{_ELEMENTS[self.element]}") from None
        return tuple(values)


def _list_of(hint: Any) -> _ListOf | None:
    """The :class:`_ListOf` of a ``tuple[X, ...]`` annotation (``Annotated`` with a split function
    such as :data:`SpecList`), else None."""
    split = comma_list
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        split = next((e for e in extras if callable(e)), split)
    if get_origin(hint) is not tuple:
        return None
    arguments = get_args(hint)
    if len(arguments) != 2 or arguments[1] is not Ellipsis or arguments[0] not in _ELEMENTS:
        raise TypeError(f"a tuple field of flags is tuple[X, ...] with X one of "
                        f"{', '.join(t.__name__ for t in _ELEMENTS)}, not {hint}")
    return _ListOf(arguments[0], split)


def _optional_element(hint: Any) -> type | None:
    """``X`` of an ``X | None`` annotation whose ``X`` is a flag element type (a flag whose default is none)."""
    arguments = get_args(hint)
    if len(arguments) == 2 and type(None) in arguments:
        element = next(a for a in arguments if a is not type(None))
        return element if element in _ELEMENTS else None
    return None


def _flag_text(value: Any) -> str:
    """How a value is written on the command line: a tuple as its comma-separated elements."""
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, defaults: dict[str, Any] | None = None,
                        skip: tuple[str, ...] = ()) -> None:
    """One flag per field of ``cls`` (``defaults`` override field defaults; ``skip`` names fields left out)."""
    docs = field_docs(cls)
    hints = get_type_hints(cls, include_extras=True)
    for field in fields(cls):
        if field.name in skip or field.default is MISSING and field.default_factory is not MISSING:
            continue
        flag = f"--{field.name.replace('_', '-')}"
        helptext = docs.get(field.name, "").replace("%", "%%")  # argparse %-formats help
        default = (defaults or {}).get(field.name, field.default)
        hint = hints.get(field.name)
        convert = _list_of(hint) or (hint if hint in _ELEMENTS else None) or _optional_element(hint)
        if default is MISSING:
            parser.add_argument(flag, required=True, type=convert, help=helptext)
        elif isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=helptext)
        else:
            parser.add_argument(flag, type=convert or type(default), default=default, help=helptext)


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
            shown = "none" if action.default is None else _flag_text(action.default)
            shown = repr(shown) if shown == "" else shown.replace("%", "%%")
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
