"""``loranet validator validate-node|blacklist``: a validator's (and admin's) node actions.

Registered onto the ``validator`` group of :mod:`offchain.validator.cli` by ``main.py``.
"""

from __future__ import annotations

import typer

from offchain.cli.context import state
from offchain.cli.operator import run_operator
from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt


def validate_node(
    ctx: typer.Context,
    node: str = typer.Argument(..., help="Node address (or local node key alias)."),
    invalidate: bool = typer.Option(
        False, "--invalidate", help="Mark it not valid (ejects it from its pool)."
    ),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate a registered node (VALIDATOR_ROLE), so that it may join pools."""
    from offchain.chain.admin import AdminActions

    address = state(ctx).node_address(node)
    run_operator(
        ctx,
        AdminActions,
        lambda actions: actions.validate_node(address, valid=not invalidate),
        f"node {address} is {'not ' if invalidate else ''}validated",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


def blacklist(
    ctx: typer.Context,
    node: str = typer.Argument(..., help="Node address."),
    pool: int | None = typer.Option(
        None, "--pool", help="Only in this pool (its creator or an admin); default: everywhere."
    ),
    undo: bool = typer.Option(False, "--undo", help="Clear the flag instead."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Blacklist a node everywhere (admin) or in one pool (its creator); it leaves the pool."""
    from offchain.chain.admin import AdminActions
    from offchain.chain.pool_admin import PoolCreatorActions

    address = state(ctx).node_address(node)
    verb = "cleared" if undo else "blacklisted"
    if pool is None:
        run_operator(
            ctx,
            AdminActions,
            lambda actions: actions.blacklist_node(address, blacklisted=not undo),
            f"node {address} {verb} everywhere",
            account=account,
            yes=yes,
            dry_run=dry_run,
            as_json=as_json,
        )
        return
    run_operator(
        ctx,
        PoolCreatorActions,
        lambda actions: actions.blacklist(pool, address, blacklisted=not undo),
        f"node {address} {verb} in pool {pool}",
        account=account,
        yes=yes,
        dry_run=dry_run,
        as_json=as_json,
    )


def register(app: typer.Typer) -> None:
    app.command("validate-node")(validate_node)
    app.command("blacklist")(blacklist)
