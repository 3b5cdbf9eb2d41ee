"""``loranet stake add|unbond|withdraw``."""

from __future__ import annotations

import typer

from offchain.cli.context import ACCOUNT_HELP, JSON_HELP, state

app = typer.Typer(help="Stake: add, unbond, withdraw.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    amount: str = typer.Argument(..., help="LORA to add to the stake."),
    account: str | None = typer.Option(None, "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add LORA to your stake (approves the stake manager first when needed)."""
    from offchain.chain.units import format_lora, parse_amount

    cli = state(ctx)
    cli.use_json(as_json)
    wei = parse_amount(amount)
    result = cli.actions(account).stake_add(wei)
    cli.emit_action(result, f"added {format_lora(wei)} to the stake")


@app.command("unbond")
def unbond(
    ctx: typer.Context,
    amount: str = typer.Argument(..., help="LORA to unbond."),
    account: str | None = typer.Option(None, "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Request an unbond; the tokens are withdrawable after the unbonding period."""
    from offchain.chain.units import format_lora, parse_amount

    cli = state(ctx)
    cli.use_json(as_json)
    wei = parse_amount(amount)
    result = cli.actions(account).unbond(wei)
    when = result.summary["release_at_utc"]
    cli.emit_action(result, f"unbonding {format_lora(wei)}, withdrawable from {when}")


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    account: str | None = typer.Option(None, "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Withdraw every unbond whose release time has passed."""
    from offchain.chain.units import format_lora

    cli = state(ctx)
    cli.use_json(as_json)
    result = cli.actions(account).withdraw()
    amount = int(result.summary["withdrawn"])
    cli.emit_action(result, f"withdrew {format_lora(amount)}")
