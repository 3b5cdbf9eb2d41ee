"""``loranet validator validate-node|blacklist``: a validator's (and admin's) node actions.

Registered onto the ``validator`` group of :mod:`offchain.validator.cli` by ``main.py``.
"""

from __future__ import annotations

import typer

from offchain.cli.context import ACCOUNT_HELP, JSON_HELP, state
from offchain.cli.options import DryRunOpt, YesOpt


def validate_node(
    ctx: typer.Context,
    node: str = typer.Argument(..., help="Node address (or local node key alias)."),
    invalidate: bool = typer.Option(
        False, "--invalidate", help="Mark it not valid (ejects it from its pool)."
    ),
    account: str | None = typer.Option(None, "--account", "-a", help=ACCOUNT_HELP),
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Validate a registered node (VALIDATOR_ROLE), so that it may join pools."""
    from offchain.chain.admin import AdminActions
    from offchain.cli.operator import operator_actions

    cli = state(ctx)
    cli.use_json(as_json)
    address = cli.node_address(node)
    actions = operator_actions(cli, AdminActions, account, yes=yes, dry_run=dry_run)
    result = actions.validate_node(address, valid=not invalidate)
    cli.emit_action(result, f"node {address} is {'not ' if invalidate else ''}validated")


def blacklist(
    ctx: typer.Context,
    node: str = typer.Argument(..., help="Node address."),
    pool: int | None = typer.Option(
        None, "--pool", help="Only in this pool (its creator or an admin); default: everywhere."
    ),
    undo: bool = typer.Option(False, "--undo", help="Clear the flag instead."),
    account: str | None = typer.Option(None, "--account", "-a", help=ACCOUNT_HELP),
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Blacklist a node everywhere (admin) or in one pool (its creator); it leaves the pool."""
    from offchain.chain.admin import AdminActions
    from offchain.chain.pool_admin import PoolCreatorActions
    from offchain.cli.operator import operator_actions

    cli = state(ctx)
    cli.use_json(as_json)
    address = cli.node_address(node)
    if pool is None:
        result = operator_actions(
            cli, AdminActions, account, yes=yes, dry_run=dry_run
        ).blacklist_node(address, blacklisted=not undo)
        where = "everywhere"
    else:
        result = operator_actions(
            cli, PoolCreatorActions, account, yes=yes, dry_run=dry_run
        ).blacklist(pool, address, blacklisted=not undo)
        where = f"in pool {pool}"
    cli.emit_action(result, f"node {address} {'cleared' if undo else 'blacklisted'} {where}")


def register(app: typer.Typer) -> None:
    app.command("validate-node")(validate_node)
    app.command("blacklist")(blacklist)
