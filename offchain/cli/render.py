"""Shared human renderings: transactions sent, plans to confirm, dry runs, amounts, yes/no."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from offchain.chain.units import format_eth

if TYPE_CHECKING:
    from offchain.chain.provider import ActionResult
    from offchain.chain.review import Plan, PlannedTx


def action(console: Console, headline: str, result: ActionResult) -> None:
    """``headline`` then one dim line per transaction (hash, block, fee)."""
    console.print(headline)
    for tx in result.transactions:
        console.print(
            f"  [dim]tx {tx.tx_hash} in block {tx.block}, fee {format_eth(tx.fee_wei)}[/]"
        )


def summary(console: Console, plan: Plan, planned: Sequence[PlannedTx]) -> None:
    """What is about to be sent: the plan's rows, then each transaction with its fee."""
    console.print(f"[bold]{escape(plan.title)}[/]")
    width = max((len(label) for label, _ in plan.rows), default=0)
    for label, value in plan.rows:
        console.print(f"  {label:<{width}}  {escape(value)}")
    total = 0
    for index, tx in enumerate(planned, start=1):
        console.print(f"  tx {index}: {escape(tx.request.description)}, fee {tx.fee_text()}")
        total += tx.expected_fee or 0
    if len(planned) > 1:
        console.print(f"  fees ≈ {format_eth(total)} in all")


def dry_run(console: Console, plan: Plan, planned: Sequence[PlannedTx]) -> None:
    """The plan, then every transaction that would be sent, field by field; nothing sent."""
    console.print("[yellow]dry run: nothing was sent[/]")
    summary(console, plan, [])
    for index, tx in enumerate(planned, start=1):
        console.print(f"  transaction {index}: {escape(tx.request.description)}")
        console.print(f"    from   {tx.sender}")
        console.print(f"    to     {tx.request.to}")
        console.print(f"    value  {tx.request.value}")
        console.print(f"    gas    {tx.gas if tx.gas is not None else 'after the previous one'}")
        console.print(f"    fee    {tx.fee_text()}")
        console.print(f"    data   {tx.request.data}")


def yes_no(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[yellow]no[/]"
