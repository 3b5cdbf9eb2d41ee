"""Shared human renderings: transactions sent, amounts, yes/no."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from offchain.chain.units import format_eth

if TYPE_CHECKING:
    from offchain.chain.provider import ActionResult


def action(console: Console, headline: str, result: ActionResult) -> None:
    """``headline`` then one dim line per transaction (hash, block, fee)."""
    console.print(headline)
    for tx in result.transactions:
        console.print(
            f"  [dim]tx {tx.tx_hash} in block {tx.block}, fee {format_eth(tx.fee_wei)}[/]"
        )


def yes_no(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[yellow]no[/]"
