"""``loranet provider register``: stake and register in one flow."""

from __future__ import annotations

import typer

from offchain.cli.context import state
from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt

app = typer.Typer(help="Provider registration: register, deregister.", no_args_is_help=True)


@app.command("register")
def register(
    ctx: typer.Context,
    stake: str = typer.Option(..., "--stake", help="LORA to stake (at least the base stake)."),
    approve: bool = typer.Option(
        False, "--approve", help="Approve in a separate transaction instead of an ERC-2612 permit."
    ),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Stake LORA and register as a provider (permit + register in one transaction)."""
    from offchain.chain.units import format_lora, parse_amount

    cli = state(ctx)
    cli.use_json(as_json)
    amount = parse_amount(stake)
    actions = cli.actions(account, yes=yes, dry_run=dry_run)
    result = actions.register(amount, use_permit=not approve)
    cli.emit_action(
        result, f"registered {actions.address} as a provider with {format_lora(amount)} staked"
    )


@app.command("deregister")
def deregister(
    ctx: typer.Context,
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """End your registration (remove your nodes first); the base stake can then be unbonded."""
    cli = state(ctx)
    cli.use_json(as_json)
    actions = cli.actions(account, yes=yes, dry_run=dry_run)
    result = actions.deregister()
    cli.emit_action(result, f"{actions.address} is no longer a registered provider")
