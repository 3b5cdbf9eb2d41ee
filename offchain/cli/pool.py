"""``loranet pool list|show|join|leave``."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli.context import state
from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt

app = typer.Typer(help="Training pools: list, show, join, leave.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: JsonOpt = False,
) -> None:
    """List every pool with its status, size and reward."""
    from offchain.chain.units import format_lora

    cli = state(ctx)
    cli.use_json(as_json)
    pools = cli.protocol().all_pools()

    def show(console: Console) -> None:
        if not pools:
            console.print("no pools yet")
            return
        table = Table("id", "status", "nodes", "min units", "round", "reward/round", title="pools")
        for p in pools:
            table.add_row(
                str(p.id),
                p.status,
                f"{p.node_count}/{p.max_nodes}",
                str(p.min_compute_units),
                f"{p.round_length} s",
                format_lora(p.reward_per_round),
            )
        console.print(table)

    cli.emit([asdict(p) for p in pools], show)


@app.command("show")
def show(
    ctx: typer.Context,
    pool_id: int = typer.Argument(..., help="Pool id."),
    as_json: JsonOpt = False,
) -> None:
    """Show one pool: parameters, round clock and members."""
    from offchain.chain.protocol import utc
    from offchain.chain.units import format_lora

    cli = state(ctx)
    cli.use_json(as_json)
    protocol = cli.protocol()
    pool = protocol.pool(pool_id)
    members = protocol.pool_members(pool_id)
    current_round = None
    if pool.status == "active":
        current_round = int(protocol.pools.functions.currentRound(pool_id).call())
    payload = {**asdict(pool), "members": members, "current_round": current_round}

    def render_pool(console: Console) -> None:
        console.print(f"[bold]pool {pool.id}[/] ({pool.status}), creator {pool.creator}")
        console.print(
            f"  domain {pool.domain_id}, nodes {pool.node_count}/{pool.max_nodes}, "
            f"min {pool.min_compute_units} compute units"
        )
        console.print(
            f"  rounds of {pool.round_length} s, reports within "
            f"{pool.submission_window} s, {format_lora(pool.reward_per_round)} per round"
        )
        if pool.start_time:
            console.print(
                f"  started {utc(pool.start_time)}"
                + (f", round {current_round} now" if current_round is not None else "")
            )
        if pool.end_time:
            console.print(f"  ended {utc(pool.end_time)}")
        console.print(f"  base model {pool.base_model_hash}")
        console.print(f"  dataset    {pool.dataset_hash}")
        for member in members:
            console.print(f"  member {cli.node_label(member)}")

    cli.emit(payload, render_pool)


@app.command("join")
def join(
    ctx: typer.Context,
    pool_id: int = typer.Argument(..., help="Pool id."),
    node: str = typer.Option(..., "--node", help="Alias (or address) of the local node key."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Join a validated node of yours to a pool (the node key signs, EIP-712)."""
    cli = state(ctx)
    cli.use_json(as_json)
    actions = cli.actions(account, yes=yes, dry_run=dry_run)
    node_key = cli.node_key(node)
    result = actions.join_pool(pool_id, node_key)
    cli.emit_action(result, f"node {cli.node_label(node_key.address)} joined pool {pool_id}")


@app.command("leave")
def leave(
    ctx: typer.Context,
    node: str = typer.Option(..., "--node", help="Node address or local node key alias."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Take a node of yours out of its pool."""
    cli = state(ctx)
    cli.use_json(as_json)
    address = cli.node_address(node)
    result = cli.actions(account, yes=yes, dry_run=dry_run).leave_pool(address)
    pool_id = result.summary["pool_id"]
    cli.emit_action(result, f"node {cli.node_label(address)} left pool {pool_id}")
