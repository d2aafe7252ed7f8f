"""Imports run one way: the domain (app) at the bottom, the call service (ivr) and the web app (web) above it,
entry points (cli) on top. The web app never imports the call service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A package may import only the packages listed for it (besides the standard library and dependencies).
ALLOWED = {"app": {"app"}, "ivr": {"app", "ivr"}, "web": {"app", "web"}, "cli": {"app", "ivr", "web", "cli"}}
OURS = {"app", "ivr", "web", "cli", "bench", "tests"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imports(path) - ALLOWED[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if _imports(path) - ALLOWED[package]
    }
    assert wrong == {}
