"""``loranet faucet``: LORA to stake on a testnet, from the deployment's faucet."""

from __future__ import annotations

import typer
from rich.console import Console

from offchain.cli.context import ACCOUNT_HELP, JSON_HELP, state
from offchain.cli.options import DryRunOpt, YesOpt


def faucet(
    ctx: typer.Context,
    show: bool = typer.Option(False, "--show", help="Only show the faucet; take nothing."),
    account: str | None = typer.Option(None, "--account", "-a", help=ACCOUNT_HELP),
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Take the testnet faucet's drip of LORA (once per cooldown per address)."""
    from offchain.chain.faucet import FaucetActions
    from offchain.chain.protocol import utc
    from offchain.chain.units import format_lora
    from offchain.cli.operator import operator_actions

    cli = state(ctx)
    cli.use_json(as_json)
    actions = operator_actions(cli, FaucetActions, account, yes=yes, dry_run=dry_run)
    if show:
        view = actions.view()

        def render(console: Console) -> None:
            drip, held = format_lora(view.drip), format_lora(view.balance)
            console.print(
                f"faucet {view.address}: {drip} per drip, every {view.cooldown} s; holds {held}"
            )
            if view.next_drip_at > view.now:
                console.print(f"  your next drip: {utc(view.next_drip_at)}")

        cli.emit(view.as_dict(), render)
        return
    result = actions.drip()
    amount = format_lora(int(result.summary["received"]))
    cli.emit_action(result, f"{result.summary['account']} received {amount}")
