"""The committed ABIs in offchain/abi match a fresh compile of the contracts."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from offchain.abi import load_abi, names

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def export_abi() -> ModuleType:
    spec = importlib.util.spec_from_file_location("export_abi", ROOT / "scripts" / "export_abi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exported_abis_are_fresh(project: Any, export_abi: ModuleType) -> None:
    contract_types = {
        name: container.contract_type.model_dump(mode="json", by_alias=True)
        for name, container in project.load_contracts().items()
    }
    expected = export_abi.expected_files(contract_types)
    assert "LoraToken.json" in expected
    stale = export_abi.stale_files(expected)
    assert not stale, f"stale ABIs {stale}: run `ape compile && python scripts/export_abi.py`"


def test_runtime_loader() -> None:
    assert "LoraToken" in names()
    abi = load_abi("LoraToken")
    assert any(item.get("name") == "LoraTokenCapExceeded" for item in abi)
