"""``loranet account new|import|list``: provider accounts in encrypted keystores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli.context import state
from offchain.cli.options import JsonOpt

if TYPE_CHECKING:
    from offchain.keys import KeyInfo

app = typer.Typer(
    help="Provider accounts: encrypted keystores, readable by `ape accounts` too.",
    no_args_is_help=True,
)


def _info(info: KeyInfo) -> dict[str, str]:
    return {"alias": info.alias, "address": info.address, "path": str(info.path)}


@app.command("new")
def new(
    ctx: typer.Context,
    alias: str = typer.Argument(..., help="Name of the new account (its keystore file name)."),
    as_json: JsonOpt = False,
) -> None:
    """Create a new random account, encrypted with a password (prompt or LORANET_PASSWORD;
    at least 8 characters)."""
    cli = state(ctx)
    cli.use_json(as_json)
    keystore = cli.keystore()
    keystore.check_new_alias(alias)
    password = cli.password(f"Password for new account '{alias}'", confirm=True, new=True)
    info = keystore.create(alias, password)
    cli.emit(_info(info), f"created account [bold]{info.alias}[/] {info.address} in {info.path}")


@app.command("import")
def import_(
    ctx: typer.Context,
    alias: str = typer.Argument(..., help="Name to store the account under."),
    as_json: JsonOpt = False,
) -> None:
    """Import an existing private key (asked for with a hidden prompt, or read from stdin)."""
    cli = state(ctx)
    cli.use_json(as_json)
    keystore = cli.keystore()
    keystore.check_new_alias(alias)
    key = cli.secret("Private key (hex)")
    keystore.check_private_key(key)
    password = cli.password(f"Password for account '{alias}'", confirm=True, new=True)
    info = keystore.import_key(alias, key, password)
    cli.emit(_info(info), f"imported account [bold]{info.alias}[/] {info.address} in {info.path}")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the stored accounts (no password needed)."""
    cli = state(ctx)
    cli.use_json(as_json)
    infos = cli.keystore().entries()
    folder = cli.settings.keystore_dir

    def render(console: Console) -> None:
        if not infos:
            console.print(f"no accounts in {folder}: create one with `loranet account new`")
            return
        table = Table("alias", "address", title=f"accounts in {folder}")
        for info in infos:
            table.add_row(info.alias, info.address)
        console.print(table)

    cli.emit([_info(info) for info in infos], render)
