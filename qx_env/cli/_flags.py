"""Command-line flags made from a dataclass of arguments (CleanRL style): one ``--field-name`` per
field; fields without a default are required; booleans get ``--x/--no-x``."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields
from typing import Any


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, defaults: dict[str, Any] | None = None,
                        skip: tuple[str, ...] = ()) -> None:
    for field in fields(cls):
        if field.name in skip or field.default is MISSING and field.default_factory is not MISSING:
            continue
        flag = f"--{field.name.replace('_', '-')}"
        default = (defaults or {}).get(field.name, field.default)
        if default is MISSING:
            parser.add_argument(flag, required=True)
        elif isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default)


def dataclass_from_flags(cls: type, args: argparse.Namespace, **overrides: Any):
    """An instance of ``cls`` from parsed flags (fields the parser has), with ``overrides``."""
    values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
    return cls(**{**values, **overrides})
