"""No service package imports itself in a circle: each module can be read (and loaded) after what it imports.

Every import counts, those under `if TYPE_CHECKING:` too: a cycle hidden from the interpreter is
still one for a reader, and one refactoring away from an ImportError.
"""
from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p for p in ROOT.glob("services/*/*/__init__.py"))


def _module(package_dir: Path, path: Path) -> str:
    parts = path.relative_to(package_dir.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The modules of `modules` this one imports (`from . import x` resolved; `from p import m` is p.m)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = package[: len(package) - node.level + 1] if node.level else []
            source = ".".join([*prefix, *([node.module] if node.module else [])])
            for alias in node.names:
                names.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source)
    return names & modules - {module}


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Each module of the package → the modules of the same package it imports."""
    files = {_module(package_dir, path): path for path in package_dir.rglob("*.py")}
    return {module: _imports(ast.parse(path.read_text()), module, path.name == "__init__.py", set(files))
            for module, path in files.items()}


def test_every_service_package_is_found():
    assert {p.parent.name for p in PACKAGES} >= {"scheduler", "attendance", "billing", "meet_fetcher"}


@pytest.mark.parametrize("init", PACKAGES, ids=lambda p: p.parent.name)
def test_no_import_cycle(init: Path):
    try:
        tuple(TopologicalSorter(import_graph(init.parent)).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_a_cycle_is_found(tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import X\n")
    with pytest.raises(CycleError):
        tuple(TopologicalSorter(import_graph(package)).static_order())
