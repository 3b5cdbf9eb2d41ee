"""``loranet stake add|unbond|withdraw``."""

from __future__ import annotations

import typer

from offchain.cli.context import state
from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt

app = typer.Typer(help="Stake: add, unbond, withdraw.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    amount: str = typer.Argument(..., help="LORA to add to the stake (e.g. 500 or 0.5)."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add LORA to your stake (approves the stake manager first when needed)."""
    from offchain.chain.units import format_lora, parse_amount

    cli = state(ctx)
    cli.use_json(as_json)
    wei = parse_amount(amount)
    result = cli.actions(account, yes=yes, dry_run=dry_run).stake_add(wei)
    cli.emit_action(result, f"added {format_lora(wei)} to the stake")


@app.command("unbond")
def unbond(
    ctx: typer.Context,
    amount: str = typer.Argument(..., help="LORA to unbond."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Request an unbond; the tokens are withdrawable after the unbonding period."""
    from offchain.chain.units import format_lora, parse_amount

    cli = state(ctx)
    cli.use_json(as_json)
    wei = parse_amount(amount)
    result = cli.actions(account, yes=yes, dry_run=dry_run).unbond(wei)
    when = result.summary["release_at_utc"]
    cli.emit_action(result, f"unbonding {format_lora(wei)}, withdrawable from {when}")


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw every unbond whose release time has passed."""
    from offchain.chain.units import format_lora

    cli = state(ctx)
    cli.use_json(as_json)
    result = cli.actions(account, yes=yes, dry_run=dry_run).withdraw()
    amount = int(result.summary["withdrawn"])
    cli.emit_action(result, f"withdrew {format_lora(amount)}")
