"""Decode revert data into a named custom error by its 4-byte selector.

The decoder knows every ``error`` entry of every exported ABI (``offchain/abi``) plus
Solidity's built-in ``Error(string)`` and ``Panic(uint256)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import collapse_if_tuple
from eth_utils.conversions import to_bytes
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from offchain import abi as abi_files

logger = logging.getLogger(__name__)

PANIC_REASONS = {
    0x01: "an assertion failed",
    0x11: "an arithmetic overflow or underflow",
    0x12: "a division by zero",
    0x21: "an invalid enum value",
    0x31: "a pop from an empty array",
    0x32: "an out-of-bounds array access",
    0x41: "an out-of-memory allocation",
    0x51: "a call to an uninitialized function",
}


@dataclass(frozen=True)
class ErrorSpec:
    """One ``error Name(type name, ...)`` of an ABI."""

    name: str
    types: tuple[str, ...]
    arg_names: tuple[str, ...]

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.types)})"

    @property
    def selector(self) -> bytes:
        return keccak(text=self.signature)[:4]


@dataclass(frozen=True)
class DecodedError:
    """A revert reason: the error's name and its arguments by name (in declaration order)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        inner = ", ".join(f"{key}={_show(value)}" for key, value in self.args.items())
        return f"{self.name}({inner})"


BUILTIN_ERRORS = (
    ErrorSpec("Error", ("string",), ("message",)),
    ErrorSpec("Panic", ("uint256",), ("code",)),
)


def error_specs(abi: Iterable[Mapping[str, Any]]) -> list[ErrorSpec]:
    specs = []
    for item in abi:
        if item.get("type") != "error":
            continue
        inputs = item.get("inputs", [])
        specs.append(
            ErrorSpec(
                name=str(item["name"]),
                types=tuple(collapse_if_tuple(dict(arg)) for arg in inputs),
                arg_names=tuple(str(arg.get("name") or f"arg{i}") for i, arg in enumerate(inputs)),
            )
        )
    return specs


class ErrorDecoder:
    """Selector → ``ErrorSpec`` over a set of ABIs."""

    def __init__(self, abis: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        self._specs: dict[bytes, ErrorSpec] = {spec.selector: spec for spec in BUILTIN_ERRORS}
        for abi in abis.values():
            for spec in error_specs(abi):
                self._specs.setdefault(spec.selector, spec)

    @classmethod
    def from_exported(cls) -> ErrorDecoder:
        """A decoder over every ABI in ``offchain/abi``."""
        return cls(abi_files.all_abis())

    def __len__(self) -> int:
        return len(self._specs)

    def decode(self, data: bytes | str | None) -> DecodedError | None:
        """The error encoded in ``data``, or None when it is empty or unknown."""
        raw = _as_bytes(data)
        if raw is None or len(raw) < 4:
            return None
        spec = self._specs.get(raw[:4])
        if spec is None:
            logger.debug("unknown error selector 0x%s", raw[:4].hex())
            return None
        try:
            values = abi_decode(list(spec.types), raw[4:])
        except (DecodingError, ValueError, OverflowError):
            logger.debug("could not decode %s from 0x%s", spec.name, raw.hex())
            return DecodedError(spec.name)
        return DecodedError(spec.name, dict(zip(spec.arg_names, values, strict=True)))


def panic_reason(code: int) -> str:
    return PANIC_REASONS.get(code, f"panic code {code:#x}")


def _as_bytes(data: Any) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, bytes | bytearray | HexBytes):
        return bytes(data)
    if isinstance(data, str):
        text = data.strip()
        if not text.startswith("0x"):
            return None
        try:
            return to_bytes(hexstr=text)
        except ValueError:
            return None
    if isinstance(data, Mapping):  # some nodes wrap it: {"data": "0x..."}
        return _as_bytes(data.get("data"))
    return None


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
