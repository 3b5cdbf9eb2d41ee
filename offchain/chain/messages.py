"""Sentences for decoded custom errors: one template per error name.

A template receives the error's arguments and a ``context`` given by the command that sent
the call (e.g. ``units`` for a node registration), and returns one sentence without a final
period. Amounts are formatted in LORA. Unknown errors fall back to their name and arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from offchain.chain.revert import DecodedError, panic_reason
from offchain.chain.units import format_eth, format_lora

Template = Callable[[Mapping[str, Any], Mapping[str, Any]], str]


def _for_units(ctx: Mapping[str, Any]) -> str:
    return f" for {ctx['units']} compute units" if "units" in ctx else ""


def _role(role: bytes) -> str:
    known = {
        "0x" + "00" * 32: "admin",
    }
    return known.get("0x" + role.hex(), "0x" + role.hex()[:8] + "…")


TEMPLATES: dict[str, Template] = {
    # --- Solidity built-ins -------------------------------------------------------------
    "Error": lambda a, c: f"the contract refused: {a['message']}",
    "Panic": lambda a, c: f"the contract failed with {panic_reason(int(a['code']))}",
    # --- OpenZeppelin ERC-20 / ERC-2612 / AccessControl -----------------------------------
    "ERC20InsufficientBalance": lambda a, c: (
        f"insufficient balance: {a['sender']} holds {format_lora(a['balance'])} "
        f"but {format_lora(a['needed'])} is needed"
    ),
    "ERC20InsufficientAllowance": lambda a, c: (
        f"insufficient allowance: {a['spender']} may spend {format_lora(a['allowance'])} "
        f"but {format_lora(a['needed'])} is needed"
    ),
    "ERC20InvalidReceiver": lambda a, c: f"{a['receiver']} cannot receive tokens",
    "ERC20InvalidSender": lambda a, c: f"{a['sender']} cannot send tokens",
    "ERC2612ExpiredSignature": lambda a, c: "the permit signature has expired",
    "ERC2612InvalidSigner": lambda a, c: (
        f"the permit was signed by {a['signer']}, not by the owner {a['owner']}"
    ),
    "AccessControlUnauthorizedAccount": lambda a, c: (
        f"{a['account']} lacks the role {_role(a['neededRole'])} needed for this call"
    ),
    "LoraTokenCapExceeded": lambda a, c: (
        f"minting would raise the supply to {format_lora(a['increasedSupply'])}, "
        f"over the cap of {format_lora(a['cap'])}"
    ),
    # --- loranet protocol (registered as the contracts land) ------------------------------
    "ComputeRegistryStakeTooLow": lambda a, c: (
        f"stake {format_lora(a['have'])} is below the minimum {format_lora(a['required'])}"
        + _for_units(c)
    ),
}


def describe(error: DecodedError, context: Mapping[str, Any] | None = None) -> str:
    """One sentence (ending with a period) for a decoded error."""
    template = TEMPLATES.get(error.name)
    ctx = context or {}
    if template is not None:
        try:
            return _sentence(template(error.args, ctx))
        except (KeyError, TypeError, ValueError):
            pass  # arguments differ from what the template expects: fall back below
    return _sentence(f"the contract refused the call with {error}")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


__all__ = ["TEMPLATES", "Template", "describe", "format_eth", "format_lora"]
