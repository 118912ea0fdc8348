"""The README's quickstarts run as written, and the documentation's links and named tests resolve.

Convention for README.md's fenced code blocks (the info string's first word):

- ``python``: executed, each block in a fresh ``python`` process;
- ``bash``: executed, each block by ``bash -e -o pipefail`` (quick commands only);
- ``sh``: shown, not executed (it runs for minutes: the demo, training, the suite);
- ``text``, ``bibtex``: not code.

Any other tag, or none, fails the test, so that a new block says which kind it is. The executed
blocks run in README order, in one fresh directory (a temporary one, so nothing lands in the
checkout), with the interpreter's ``bin`` first on ``PATH`` (for ``qx``), as a reader runs them with
``.venv`` active (``make`` installs qx-env editable, so its packages import from any directory); the
first block makes the small snapshot the others use. A block fails the test when
it exits non-zero (a Python exception, a failing command).

The link check reads README.md and docs/*.md: every relative link and image must point to a file that
exists, and a ``#fragment`` to a heading of that file (GitHub's anchor rule). Every test named as
``tests/PATH.py::test_name`` in them must exist.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
EXECUTED = ("python", "bash")
SHOWN = ("sh", "text", "bibtex")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
TIMEOUT_S = 300


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(tag, code) of every fenced block, in order; the tag is the info string's first word."""
    return [((info.split() or [""])[0], code) for info, code in FENCE.findall(text)]


def executed_blocks() -> list[tuple[str, str]]:
    return [(tag, code) for tag, code in fenced_blocks(README.read_text(encoding="utf-8")) if tag in EXECUTED]


def _ids() -> list[str]:
    counts: dict[str, int] = {}
    ids = []
    for tag, _ in executed_blocks():
        counts[tag] = counts.get(tag, 0) + 1
        ids.append(f"{tag}-{counts[tag]}")
    return ids


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readme")


def test_every_block_says_whether_it_runs():
    tags = [tag for tag, _ in fenced_blocks(README.read_text(encoding="utf-8"))]
    unknown = [tag or "(none)" for tag in tags if tag not in EXECUTED + SHOWN]
    assert not unknown, f"README.md blocks need one of {EXECUTED + SHOWN} as their tag, found {unknown}"
    assert "python" in tags and "bash" in tags


@pytest.mark.parametrize(("tag", "code"), executed_blocks(), ids=_ids())
def test_readme_block_runs_as_written(tag, code, workdir):
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONWARNINGS"] = "default"
    command = [sys.executable, "-c", code] if tag == "python" else ["bash", "-e", "-o", "pipefail", "-c", code]
    run = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
                         check=False)
    assert run.returncode == 0, (f"README {tag} block failed (exit {run.returncode}):\n{code}\n"
                                 f"--- stdout ---\n{run.stdout[-3000:]}\n--- stderr ---\n{run.stderr[-3000:]}")


# ---- links and named tests ---------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
NAMED_TEST = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)")


def _prose(text: str) -> str:
    """The text without fenced blocks and inline code, where links are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but ``-`` and ``_`` dropped, spaces to ``-``."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        anchor = github_anchor(heading)
        n = seen.get(anchor, 0)
        seen[anchor] = n + 1
        found.add(anchor if n == 0 else f"{anchor}-{n}")
    return found


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, https:, mailto:
            continue
        path_part, _, fragment = target.partition("#")
        file = (page.parent / path_part).resolve() if path_part else page
        if not file.exists():
            broken.append(f"{target} (no file {file})")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target} (no heading #{fragment} in {file.relative_to(ROOT)})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_every_named_test_exists():
    missing = []
    for page in [README, *DOCS]:
        for file, name in NAMED_TEST.findall(page.read_text(encoding="utf-8")):
            source = ROOT / file
            if not source.exists() or not re.search(rf"^\s*(async\s+)?def {name}\(", source.read_text(), re.MULTILINE):
                missing.append(f"{page.relative_to(ROOT)}: {file}::{name}")
    assert not missing, f"named tests that do not exist: {missing}"
