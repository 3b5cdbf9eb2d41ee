"""Export the ABIs of loranet's deployable contracts from Ape's build into ``offchain/abi/``.

    ape compile && python scripts/export_abi.py          # (re)write offchain/abi/<Contract>.json
    python scripts/export_abi.py --check                 # exit 1 when the committed ABIs are stale
    ape run export_abi                                   # same as the first line

Runtime code (``offchain.abi``) reads these committed files so that the CLI and the services
never import Ape. A contract is exported when it has deployment bytecode and is not a test
mock (``Mock*``); interfaces add nothing because contracts carry their interfaces' errors.
``tests/offchain/test_abi.py`` fails when the committed files differ from a fresh compile.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD_FILE = ROOT / ".build" / "__local__.json"
ABI_DIR = ROOT / "offchain" / "abi"


def is_exported(name: str, contract_type: Mapping[str, Any]) -> bool:
    bytecode = (contract_type.get("deploymentBytecode") or {}).get("bytecode") or "0x"
    return bytecode not in ("0x", "") and not name.startswith("Mock")


def render(abi: list[dict[str, Any]]) -> str:
    """The exact text of one ABI file (stable across runs: sorted keys, 2-space indent)."""
    return json.dumps(abi, indent=2, sort_keys=True) + "\n"


def expected_files(contract_types: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """File name → text for every exported contract of a build's ``contractTypes``."""
    return {
        f"{name}.json": render(list(contract_type["abi"]))
        for name, contract_type in sorted(contract_types.items())
        if is_exported(name, contract_type)
    }


def stale_files(expected: Mapping[str, str], abi_dir: Path = ABI_DIR) -> list[str]:
    """Names of files that are missing, different or no longer produced."""
    present = {path.name: path.read_text() for path in abi_dir.glob("*.json")}
    changed = [name for name, text in expected.items() if present.get(name) != text]
    extra = [name for name in present if name not in expected]
    return sorted(changed + extra)


def write_files(expected: Mapping[str, str], abi_dir: Path = ABI_DIR) -> None:
    abi_dir.mkdir(parents=True, exist_ok=True)
    for path in abi_dir.glob("*.json"):
        if path.name not in expected:
            path.unlink()
    for name, text in expected.items():
        (abi_dir / name).write_text(text)


def load_build(build_file: Path = BUILD_FILE) -> dict[str, Any]:
    if not build_file.is_file():
        raise SystemExit(f"{build_file} not found: run `ape compile` first")
    contract_types: dict[str, Any] = json.loads(build_file.read_text())["contractTypes"]
    return contract_types


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv if argv is not None else [])
    expected = expected_files(load_build())
    stale = stale_files(expected)
    if args.check:
        if stale:
            print("stale ABIs: " + ", ".join(stale) + " (run scripts/export_abi.py)")
            return 1
        print(f"{len(expected)} ABIs up to date")
        return 0
    write_files(expected)
    print(f"wrote {len(expected)} ABIs to {ABI_DIR.relative_to(ROOT)}: " + ", ".join(expected))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
