"""``loranet admin grant|revoke|roles|params|set-stake|set-unbonding|set-slash-split|blacklist``.

What the protocol's admin does on any chain (``loranet devnet`` stays dev-only). Every
refusal is one sentence with a non-zero exit, checked before the key is unlocked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli.context import state
from offchain.cli.operator import run_operator
from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt

if TYPE_CHECKING:
    from offchain.chain.provider import ActionResult

app = typer.Typer(
    help="Protocol admin: roles, protocol parameters, blacklists (any chain).",
    no_args_is_help=True,
)

ROLE_HELP = "Role: admin, validator, pool-creator, guardian, token-admin, minter."


@app.command("grant")
def grant(
    ctx: typer.Context,
    role: str = typer.Argument(..., help=ROLE_HELP),
    address: str = typer.Argument(..., help="Account that receives the role."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Grant a role (the caller must be an admin of the role's contract)."""
    from offchain.chain.admin import AdminActions

    run_operator(
        ctx,
        AdminActions,
        lambda actions: actions.grant(role, address),
        lambda result: f"{result.summary['account']} now holds {result.summary['role']}",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    role: str = typer.Argument(..., help=ROLE_HELP),
    address: str = typer.Argument(..., help="Account that loses the role."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a role."""
    from offchain.chain.admin import AdminActions

    run_operator(
        ctx,
        AdminActions,
        lambda actions: actions.revoke(role, address),
        lambda result: f"{result.summary['account']} no longer holds {result.summary['role']}",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


@app.command("roles")
def roles(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="Account (or local alias) to look up."),
    as_json: JsonOpt = False,
) -> None:
    """Show which roles an account holds."""
    from offchain.chain.admin import AdminActions
    from offchain.chain.roles import ROLES

    cli = state(ctx)
    cli.use_json(as_json)
    who = cli.address_of(address)
    view = AdminActions(cli.protocol(), who)
    held = {name: view.has_role(name, who) for name in ROLES}
    names = [name for name, yes in held.items() if yes]
    cli.emit({"account": who, "roles": held}, f"{who}: {', '.join(names) or 'no roles'}")


@app.command("params")
def params(
    ctx: typer.Context,
    as_json: JsonOpt = False,
) -> None:
    """Show the protocol parameters (minimum stake rule, unbonding period, slash split)."""
    from offchain.chain.admin import AdminActions
    from offchain.chain.units import format_lora

    cli = state(ctx)
    cli.use_json(as_json)
    protocol = cli.protocol()
    values = AdminActions(protocol, protocol.hub.address).params()

    def render(console: Console) -> None:
        table = Table("parameter", "value", title="protocol parameters")
        table.add_row("base stake", format_lora(int(str(values["base_stake"]))))
        table.add_row("per compute unit", format_lora(int(str(values["per_unit_stake"]))))
        table.add_row("unbonding period", f"{values['unbonding_period']} s")
        table.add_row("slash burned", f"{values['burn_bps']} bps, rest to {values['treasury']}")
        console.print(table)

    cli.emit(values, render)


@app.command("set-stake")
def set_stake(
    ctx: typer.Context,
    base: str = typer.Option(..., "--base", help="Base minimum stake (LORA)."),
    per_unit: str = typer.Option(..., "--per-unit", help="Minimum stake per compute unit (LORA)."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Set the minimum-stake rule base + perUnit x compute units."""
    from offchain.chain.admin import AdminActions
    from offchain.chain.units import format_lora, parse_amount

    b, p = parse_amount(base), parse_amount(per_unit)
    run_operator(
        ctx,
        AdminActions,
        lambda actions: actions.set_stake_params(b, p),
        f"minimum stake is now {format_lora(b)} + {format_lora(p)} per unit",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


@app.command("set-unbonding")
def set_unbonding(
    ctx: typer.Context,
    seconds: int = typer.Argument(..., help="Seconds an unbond stays locked."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Set the unbonding period of new unbond requests."""
    from offchain.chain.admin import AdminActions

    run_operator(
        ctx,
        AdminActions,
        lambda actions: actions.set_unbonding_period(seconds),
        f"unbonding period is now {seconds} s",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


@app.command("set-slash-split")
def set_slash_split(
    ctx: typer.Context,
    burn_bps: int = typer.Option(..., "--burn-bps", help="Part of each slash burned (bps)."),
    treasury: str = typer.Option(..., "--treasury", help="Receives the rest of each slash."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Set how slashed stake is split between burning and the treasury."""
    from offchain.chain.admin import AdminActions

    run_operator(
        ctx,
        AdminActions,
        lambda actions: actions.set_slash_split(burn_bps, treasury),
        f"slashes now burn {burn_bps} bps, the rest goes to {treasury}",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


@app.command("blacklist")
def blacklist(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="Node (default) or provider address."),
    provider: bool = typer.Option(False, "--provider", help="Blacklist a provider, not a node."),
    undo: bool = typer.Option(False, "--undo", help="Clear the blacklist flag instead."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Blacklist (or clear) a node or a provider everywhere; a blacklisted node leaves its pool."""
    from offchain.chain.admin import AdminActions

    def act(actions: AdminActions) -> ActionResult:
        if provider:
            return actions.blacklist_provider(address, blacklisted=not undo)
        return actions.blacklist_node(address, blacklisted=not undo)

    verb = "cleared" if undo else "blacklisted"
    run_operator(
        ctx,
        AdminActions,
        act,
        f"{'provider' if provider else 'node'} {address} {verb}",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )
