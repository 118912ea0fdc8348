"""The house's floors: data flows corpus -> indexes -> search platform -> measures -> env -> policies
-> training -> benchmarks, and imports run only down that flow (README, "Architecture"). Every import
of the product's modules is read from source (lazy ones inside functions too), so a lower layer that
imports a higher one, or a package that reaches into another package's private module, fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import qx_env

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("qx_env", "indexes", "policies", "training", "benchmarks")

#: Each unit's floor. A unit is a top-level package, or a module or subpackage of ``qx_env``.
LAYERS: dict[str, int] = {
    # 0 - foundations every floor uses: errors, array types, file writes, flags, specs, model loading,
    # reaching a Ray cluster
    **dict.fromkeys(("qx_env.errors", "qx_env.types", "qx_env.files", "qx_env.jsonl", "qx_env.flags",
                     "qx_env.specs", "qx_env.models", "qx_env.distributed"), 0),
    # 1 - the corpus: snapshots and the generator that makes them
    **dict.fromkeys(("qx_env", "qx_env.snapshot", "qx_env.corpus"), 1),
    # 2 - retrieval indexes (keyword, embedding, graph)
    "indexes": 2,
    # 3 - the search platform: retrieve -> rank -> expose -> audit -> remove
    **dict.fromkeys(("qx_env.rankers", "qx_env.search"), 3),
    # 4 - measures on the platform: answer parsing, metrics, reward terms, weeks online
    **dict.fromkeys(("qx_env.parsers", "qx_env.metrics", "qx_env.rewards", "qx_env.stats", "qx_env.runs",
                     "qx_env.online"), 4),
    # 5 - the Gymnasium environment
    "qx_env.envs": 5,
    # 6 - the environment as the peers take it: qx serve's dialects, OpenEnv, TRL's environment_factory, verifiers
    "qx_env.adapters": 6,
    # 7 - policies, 8 - training, 9 - benchmarks
    "policies": 7, "training": 8, "benchmarks": 9,
    # 10 - faces onto everything: the command line
    **dict.fromkeys(("qx_env.cli", "qx_env.__main__"), 10),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _unit(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "qx_env" and len(parts) > 1 else parts[0]


def _imports(module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every absolute import of the product's modules in ``module``."""
    found = []
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                if name in MODULES:
                    found.append((node.lineno, name))
                elif node.module == "qx_env" and alias.name in qx_env._LAZY:  # qx_env's lazy names
                    found.append((node.lineno, qx_env._LAZY[alias.name]))
                else:
                    found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] in PACKAGES]


def test_every_unit_has_a_floor():
    assert sorted({_unit(m) for m in MODULES} - set(LAYERS)) == []


def test_imports_run_down_the_flow():
    upward = [f"{MODULES[m].relative_to(ROOT)}:{line} ({_unit(m)}, floor {LAYERS[_unit(m)]}) imports {name} "
              f"(floor {LAYERS[_unit(name)]})"
              for m in MODULES for line, name in _imports(m) if LAYERS[_unit(name)] > LAYERS[_unit(m)]]
    assert upward == []


def _private(name: str) -> str | None:
    """The unit that owns ``name`` if ``name`` is one of its private modules."""
    parts = name.split(".")
    for depth in range(1, len(parts)):
        if parts[depth].startswith("_") and not parts[depth].startswith("__"):
            return _unit(".".join(parts[:depth]))
    return None


def test_no_package_reaches_into_another_packages_private_modules():
    reach_ins = [f"{MODULES[m].relative_to(ROOT)}:{line} imports {name}"
                 for m in MODULES for line, name in _imports(m)
                 if (owner := _private(name)) is not None and owner != _unit(m)]
    assert reach_ins == []


def test_the_rule_sees_an_upward_import(tmp_path):
    """The scanner itself: a module that imported the env from the indexes would be caught."""
    MODULES["indexes._probe"] = probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from qx_env.envs import ExploreEnv\n    from qx_env.search._audit import x\n")
    try:
        assert _imports("indexes._probe") == [(2, "qx_env.envs"), (3, "qx_env.search._audit")]
        assert LAYERS[_unit("qx_env.envs")] > LAYERS[_unit("indexes._probe")]
        assert _private("qx_env.search._audit") == "qx_env.search"
    finally:
        del MODULES["indexes._probe"]
