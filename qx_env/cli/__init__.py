"""``qx``: the command line of qx-env. Each tool registers its subcommands from its own module."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Sequence

from qx_env import __version__
from qx_env.cli import bench, compare, corpus, env, policy, ranker, search, serve, train
from qx_env.errors import QxError
from qx_env.flags import use_help_formatter

TOOLS = (corpus, search, env, policy, ranker, train, serve, bench, compare)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qx", description="qx-env: search-engine-feedback simulation "
                                     "for query extraction in toxic-content exploration")
    parser.add_argument("--version", action="version", version=f"qx-env {__version__}")
    tools = parser.add_subparsers(dest="tool", metavar="TOOL", required=True)
    for tool in TOOLS:
        tool.register(tools)
    return use_help_formatter(parser)


def _quiet_stdout() -> None:
    """Point stdout at devnull, so that nothing more is written to a pipe whose reader has gone
    (the Python docs' recipe for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file (e.g. captured): nothing to silence
        pass


@contextlib.contextmanager
def _one_line_warnings():
    """qx's own warnings (UserWarning, e.g. an index rebuilt) as one ``qx: warning: ...`` line each,
    not Python's ``path:line: UserWarning`` with a source line; other categories as Python prints
    them. Only the formatting changes, so recorded warnings (``pytest.warns``) are still recorded."""
    default = warnings.formatwarning

    def one_line(message, category, filename, lineno, line=None):
        if category is UserWarning:
            return f"qx: warning: {message}\n"
        return default(message, category, filename, lineno, line)

    warnings.formatwarning = one_line
    try:
        yield
    finally:
        warnings.formatwarning = default


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``qx``; errors caused by the input print one line and exit with status 2. Output piped
    into a reader that stops early (``qx ... | head``) ends quietly with status 141, as SIGPIPE would."""
    args = build_parser().parse_args(argv)
    try:
        with _one_line_warnings():
            code = args.run(args) or 0
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except (QxError, ValueError) as exc:
        print(f"qx: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qx: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
