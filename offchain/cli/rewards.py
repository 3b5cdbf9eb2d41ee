"""``loranet rewards show|claim``."""

from __future__ import annotations

import typer

from offchain.cli.context import state
from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt

app = typer.Typer(help="Rewards for validated work: show and claim.", no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context, account: AccountOpt = None, as_json: JsonOpt = False) -> None:
    """Show the rewards you can claim."""
    from offchain.chain.units import format_lora

    cli = state(ctx)
    cli.use_json(as_json)
    address = cli.address_of(account)
    pending = int(cli.protocol().ledger.functions.pendingRewards(address).call())
    cli.emit(
        {"provider": address, "pending_rewards": str(pending)},
        f"{address} can claim {format_lora(pending)}",
    )


@app.command("claim")
def claim(
    ctx: typer.Context,
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Claim (mint) your pending rewards."""
    from offchain.chain.units import format_lora

    cli = state(ctx)
    cli.use_json(as_json)
    result = cli.actions(account, yes=yes, dry_run=dry_run).claim()
    amount = int(result.summary["claimed"])
    cli.emit_action(result, f"claimed {format_lora(amount)}")
