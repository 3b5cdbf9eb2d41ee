"""ABIs of loranet's contracts, exported from Ape's build by ``scripts/export_abi.py``.

Each ``<Contract>.json`` here is the ABI list of one deployable contract. Runtime code loads
them with ``load_abi`` instead of importing Ape.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from offchain.errors import LoranetError

ABI = list[dict[str, Any]]


class AbiNotFoundError(LoranetError):
    """No exported ABI has that contract name."""


def names() -> list[str]:
    """Names of every exported contract, sorted."""
    folder = resources.files(__name__)
    return sorted(
        entry.name.removesuffix(".json")
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    )


@cache
def _load(name: str) -> tuple[dict[str, Any], ...]:
    entry = resources.files(__name__) / f"{name}.json"
    if not entry.is_file():
        raise AbiNotFoundError(
            f"no ABI for contract '{name}' in offchain/abi (known: {', '.join(names())})."
        )
    return tuple(json.loads(entry.read_text(encoding="utf-8")))


def load_abi(name: str) -> ABI:
    """The ABI of one contract (a fresh list: callers may keep it)."""
    return [dict(item) for item in _load(name)]


def all_abis() -> dict[str, ABI]:
    """Every exported ABI by contract name."""
    return {name: load_abi(name) for name in names()}
