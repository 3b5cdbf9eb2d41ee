"""``loranet status``: balances, stake, minimum, unbonding queue, nodes, pools, rewards."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli import render
from offchain.cli.context import state
from offchain.cli.options import AccountOpt, JsonOpt


def status(
    ctx: typer.Context,
    account: AccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a provider's balances, stake, minimum stake, unbonds, nodes and pools."""
    from offchain.chain.protocol import utc
    from offchain.chain.units import format_eth, format_lora

    cli = state(ctx)
    cli.use_json(as_json)
    address = cli.address_of(account)
    protocol = cli.protocol()
    me = protocol.provider(address)
    nodes = protocol.nodes_of(address)
    pool_ids = sorted({n.pool_id for n in nodes if n.pool_id})
    pools = [protocol.pool(pool_id) for pool_id in pool_ids]
    aliases = cli.node_aliases()
    payload = {
        **me.as_dict(),
        "nodes": [{**asdict(n), "alias": aliases.get(n.address.lower())} for n in nodes],
        "pools": [asdict(p) for p in pools],
    }

    def show(console: Console) -> None:
        console.print(f"[bold]provider {me.address}[/] on chain {protocol.client.chain_id}")
        console.print(
            f"  registered   {render.yes_no(me.registered)}"
            + ("  [red]blacklisted[/]" if me.blacklisted else "")
        )
        console.print(f"  balance      {format_lora(me.lora)}, {format_eth(me.eth)}")
        console.print(f"  staked       {format_lora(me.staked)}")
        console.print(
            f"  minimum      {format_lora(me.min_stake)} for {me.total_units} compute units "
            f"(rule: base {format_lora(me.base_stake)} + {format_lora(me.per_unit_stake)} "
            "per unit)"
        )
        console.print(
            f"  unbonding    {format_lora(me.unbonding)}, "
            f"withdrawable now {format_lora(me.withdrawable)}"
        )
        for unbond in me.unbonds:
            ready = "[green]ready[/]" if unbond.release_at <= me.now else "locked"
            console.print(
                f"    #{unbond.id}: {format_lora(unbond.amount)} released "
                f"{utc(unbond.release_at)} ({ready})"
            )
        console.print(f"  rewards      {format_lora(me.pending_rewards)} to claim")
        if nodes:
            table = Table("alias", "node", "units", "validated", "pool", title="nodes")
            for n in nodes:
                table.add_row(
                    aliases.get(n.address.lower(), "-"),
                    n.address,
                    str(n.compute_units),
                    render.yes_no(n.validated),
                    str(n.pool_id or "-"),
                )
            console.print(table)
        else:
            console.print("  nodes        none")
        for p in pools:
            console.print(
                f"  pool {p.id}: {p.status}, {p.node_count}/{p.max_nodes} nodes, "
                f"{format_lora(p.reward_per_round)} per round"
            )

    cli.emit(payload, show)
