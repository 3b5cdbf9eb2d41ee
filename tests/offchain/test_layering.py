"""Dependencies point one way: services -> shared packages; worker and validator never import
each other (checked on the source, so a lazy import inside a function counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "offchain"


def _imports(package: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    where = ROOT / package
    for path in [where] if where.is_file() else sorted(where.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add((path.name, node.module))
            elif isinstance(node, ast.Import):
                found.update((path.name, alias.name) for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("worker", "offchain.validator"),
        ("validator", "offchain.worker"),
        ("rounds", "offchain.worker"),
        ("rounds", "offchain.validator"),
        ("outbox.py", "offchain.worker"),
        ("outbox.py", "offchain.validator"),
        ("db.py", "offchain.worker"),
        ("runtime.py", "offchain.worker"),
        ("runtime.py", "offchain.validator"),
        ("watcher", "offchain.worker"),
        ("watcher", "offchain.validator"),
        ("chain", "offchain.worker"),
        ("chain", "offchain.validator"),
        ("settings", "offchain.worker"),
        ("settings", "offchain.validator.service"),
        ("artifacts", "offchain.worker"),
        ("artifacts", "offchain.validator"),
    ],
)
def test_no_import_across_services(package: str, forbidden: str) -> None:
    crossing = sorted(
        f"{name} imports {module}"
        for name, module in _imports(package)
        if module == forbidden or module.startswith(forbidden + ".")
    )
    assert crossing == []
