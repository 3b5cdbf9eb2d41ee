"""``loranet faucet``: LORA to stake on a testnet, from the deployment's faucet."""

from __future__ import annotations

import typer
from rich.console import Console

from offchain.cli.context import state
from offchain.cli.operator import operator_actions, run_operator
from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt


def faucet(
    ctx: typer.Context,
    show: bool = typer.Option(False, "--show", help="Only show the faucet; take nothing."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Take the testnet faucet's drip of LORA (once per cooldown per address)."""
    from offchain.chain.faucet import FaucetActions
    from offchain.chain.protocol import utc
    from offchain.chain.units import format_lora

    if show:
        cli = state(ctx)
        cli.use_json(as_json)
        view = operator_actions(cli, FaucetActions, account).view()

        def render(console: Console) -> None:
            drip, held = format_lora(view.drip), format_lora(view.balance)
            console.print(
                f"faucet {view.address}: {drip} per drip, every {view.cooldown} s; holds {held}"
            )
            if view.next_drip_at > view.now:
                console.print(f"  your next drip: {utc(view.next_drip_at)}")

        cli.emit(view.as_dict(), render)
        return
    run_operator(
        ctx,
        FaucetActions,
        lambda actions: actions.drip(),
        lambda result: (
            f"{result.summary['account']} received {format_lora(int(result.summary['received']))}"
        ),
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )
