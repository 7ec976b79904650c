"""Every third-party package the code imports is declared in pyproject.toml.

In: the absolute imports of src/contivpy (what an installed contivpy runs) and of tests/, and
pyproject's ``dependencies`` and ``[project.optional-dependencies] dev``. Out: the imports no
declared distribution provides. A package that only arrives as another one's dependency (aiohttp
under kubernetes_asyncio, grpc under aetcd) disappears when that one changes its own, so what
src/ imports must be a runtime dependency and what only the tests import a dev one.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "contivpy"
TESTS = ROOT / "tests"


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them (``PyYAML`` == ``pyyaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(requirements: Iterable[str]) -> set[str]:
    """The distribution names of requirement strings (``betterproto2[grpclib]==0.10.0``)."""
    return {_normalized(re.split(r"[\s\[=<>!~;@]", r, maxsplit=1)[0]) for r in requirements}


def _imported_top_levels(root: Path) -> dict[str, Path]:
    """The top-level name of every absolute import under ``root``, with one file importing it."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.partition(".")[0], path)
    return found


def _third_party(imports: dict[str, Path], local: set[str]) -> dict[str, Path]:
    """Leave out the standard library, contivpy itself and modules of the tree itself."""
    return {
        name: path
        for name, path in imports.items()
        if name not in sys.stdlib_module_names and name != "contivpy" and name not in local
    }


def _undeclared(imports: dict[str, Path], declared: set[str]) -> list[str]:
    """Imports no declared distribution provides, as ``module (file): provided by``."""
    providers = metadata.packages_distributions()
    missing = []
    for name, path in sorted(imports.items()):
        provided_by = {_normalized(d) for d in providers.get(name, [])}
        if not provided_by & declared:
            where = path.relative_to(ROOT)
            missing.append(f"{name} ({where}): provided by {sorted(provided_by) or 'nothing'}")
    return missing


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, Any] = tomllib.load(file)["project"]
    return project


def test_what_src_imports_is_a_runtime_dependency() -> None:
    project = _pyproject()
    runtime = _requirement_names(project["dependencies"])
    imports = _third_party(_imported_top_levels(SRC), local=set())
    assert _undeclared(imports, runtime) == []


def test_what_the_tests_import_is_a_runtime_or_dev_dependency() -> None:
    project = _pyproject()
    dev = project["optional-dependencies"]["dev"]
    declared = _requirement_names([*project["dependencies"], *dev])
    # pyproject puts tests/ on sys.path: its folders and modules are imported by their names.
    local = {p.stem for p in TESTS.iterdir() if p.is_dir() or p.suffix == ".py"}
    imports = _third_party(_imported_top_levels(TESTS), local=local)
    assert _undeclared(imports, declared) == []


def test_the_import_scan_sees_the_adapters_clients() -> None:
    """The scan finds what the adapters import, so an empty answer above means something."""
    imports = _third_party(_imported_top_levels(SRC), local=set())
    assert {"vpp_papi", "aetcd", "kubernetes_asyncio", "pyroute2", "grpclib"} <= set(imports)
