"""synarchive's modules import each other without a cycle (type-checking imports included):
the archive coordinates its tables, a table never reaches back for the archive."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "synarchive"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.split(".")[1] for name in names
            if name.startswith("synarchive.") and name.count(".") == 1}


def test_synarchive_modules_form_no_import_cycle() -> None:
    graph = {path.stem: _imports(path) - {path.stem} for path in PACKAGE.glob("*.py")
             if path.stem != "__init__"}
    assert "archive" not in graph["records"]
    tuple(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
