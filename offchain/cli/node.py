"""``loranet node ...``: node keys (local) and compute nodes (on chain)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli.context import JSON_HELP, state
from offchain.keys import KeyInfo

app = typer.Typer(help="Compute nodes: node keys and their registration.", no_args_is_help=True)


def _info(info: KeyInfo) -> dict[str, str]:
    return {"alias": info.alias, "address": info.address, "path": str(info.path)}


@app.command("keygen")
def keygen(
    ctx: typer.Context,
    alias: str = typer.Argument(..., help="Name of the node key (e.g. gpu-0)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Create a node key: a separate account that only signs for its node, never holds stake."""
    cli = state(ctx)
    cli.use_json(as_json)
    password = cli.password(f"Password for node key '{alias}'", confirm=True, node=True)
    info = cli.node_keystore().create(alias, password)
    cli.emit(_info(info), f"created node key [bold]{info.alias}[/] {info.address} in {info.path}")


@app.command("keys")
def keys(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the local node keys."""
    cli = state(ctx)
    cli.use_json(as_json)
    infos = cli.node_keystore().list()
    folder = cli.settings.resolved_node_keystore_dir

    def render(console: Console) -> None:
        if not infos:
            console.print(f"no node keys in {folder}: create one with `loranet node keygen`")
            return
        table = Table("alias", "address", title=f"node keys in {folder}")
        for info in infos:
            table.add_row(info.alias, info.address)
        console.print(table)

    cli.emit([_info(info) for info in infos], render)
