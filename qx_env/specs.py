"""Spec strings that name a registered component with options: ``name`` or
``name:key=value,key=value`` (``tfidf:top=3``, ``lm:path=models/judge,kind=judge``). A value holding
a comma, ``=``, a quote, whitespace or a backslash is double-quoted (``llm:path="models/a,b"``), with
``\\"`` and ``\\\\`` for a quote and a backslash inside it; as in a POSIX shell, a backslash outside
quotes escapes the next character. :func:`format_spec` writes specs so. Option values are coerced to
the type of the constructor parameter's default and checked against the caller's bounds (e.g.
``top`` at least 1)."""

from __future__ import annotations

import importlib
import inspect
import math
import operator
import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from qx_env.errors import QxError

#: Constructor parameters filled by the caller, never from a spec.
POSITIONAL = ("self", "snapshot")
#: A bound on a numeric option: ``(">=", 1)`` or ``(">", 0)``.
Bound = tuple[str, float]
_COMPARE = {">=": operator.ge, ">": operator.gt}
#: Characters that make :func:`format_spec` quote a value.
_NEEDS_QUOTES = re.compile(r'[,"=\\\s]')


def _coerce(value: str, default: Any) -> Any:
    if isinstance(default, bool):
        if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(value)
        return value.lower() in ("true", "1", "yes")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    return value


def format_spec(name: str, **options: Any) -> str:
    """The spec ``name:key=value,...`` that :func:`spec_options` reads back as ``options``; a value is
    quoted only when it needs it, booleans are written ``true``/``false`` and ``None`` options are
    left out (the constructor's default applies)."""
    if not name or ":" in name or _NEEDS_QUOTES.search(name):
        raise QxError(f"spec name {name!r}: give a registered name (no ':', ',', '=', quotes or spaces)")
    items = []
    for key, value in options.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if _NEEDS_QUOTES.search(text):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        items.append(f"{key}={text}")
    return f"{name}:{','.join(items)}" if items else name


def split_spec(spec: str) -> tuple[str, str]:
    """``(name, options)`` of ``name`` or ``name:options``: the name is what comes before the first
    ``:`` (names hold none; a quoted value may), the options are read by :func:`spec_options`."""
    name, _, options = spec.strip().partition(":")
    return name, options


def _items(kind: str, name: str, arguments: str) -> list[str]:
    """The ``key=value`` items of an option string, split at commas outside double quotes."""
    lexer = shlex.shlex(arguments, posix=True)
    lexer.whitespace, lexer.whitespace_split, lexer.commenters = ",", True, ""
    lexer.quotes = lexer.escapedquotes = '"'
    try:
        return [item for item in lexer if item]
    except ValueError as exc:  # shlex: "No closing quotation" / "No escaped character"
        raise QxError(f"{kind} spec {name + ':' + arguments!r}: {str(exc).lower()} (quote a value as "
                      'key="a,b", with \\" for a quote inside it)') from None


def spec_options(kind: str, name: str, arguments: str, constructor: Callable[..., Any],
                 bounds: Mapping[str, Bound] | None = None) -> dict[str, Any]:
    """Keyword arguments for ``constructor`` from ``key=value,...`` (values optionally double-quoted);
    errors name the bad option, and a value outside its entry in ``bounds`` (option name ->
    ``(">=", 1)``) is refused."""
    parameters = inspect.signature(constructor).parameters
    known = [p for p in parameters if p not in POSITIONAL]
    options: dict[str, Any] = {}
    for item in _items(kind, name, arguments):
        key, sep, value = item.partition("=")
        if not sep or key not in known:
            raise QxError(f"{kind} {name!r}: bad option {item!r}; it takes {', '.join(known) or 'no options'}")
        default = parameters[key].default
        try:
            options[key] = _coerce(value, default) if default is not inspect.Parameter.empty else value
        except ValueError:
            raise QxError(f"{kind} {name!r}: option {key}={value!r} should be like {default!r}") from None
        if bounds and key in bounds:
            relation, limit = bounds[key]
            if not _COMPARE[relation](options[key], limit):
                raise QxError(f"{kind} {name!r}: {key} must be {relation} {limit:g}, got {value}")
    return options


def lookup(kind: str, name: str, registry: Mapping[str, Any], deferred: Mapping[str, str]) -> Any:
    """``registry[name]``, importing the module named in ``deferred`` first for lazily loaded ones."""
    if name not in registry and name in deferred:
        importlib.import_module(deferred[name])
    if name not in registry:
        raise QxError(f"unknown {kind} {name!r}; choose from {', '.join(sorted({*registry, *deferred}))}")
    return registry[name]
