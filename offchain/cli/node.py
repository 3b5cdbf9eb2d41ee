"""``loranet node ...``: node keys (local) and compute nodes (on chain)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli import render
from offchain.cli.context import ACCOUNT_HELP, JSON_HELP, state

if TYPE_CHECKING:
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
    infos = cli.node_keystore().entries()
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


@app.command("add")
def add(
    ctx: typer.Context,
    node: str = typer.Option(..., "--node", help="Alias (or address) of the local node key."),
    units: int = typer.Option(..., "--units", help="Compute units of the node."),
    specs: Path = typer.Option(..., "--specs", help="Hardware specs file (JSON is canonicalized)."),
    account: str | None = typer.Option(None, "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Register a compute node: the node key signs (EIP-712), the provider sends."""
    from offchain.chain.signing import specs_hash

    cli = state(ctx)
    cli.use_json(as_json)
    digest = specs_hash(specs)
    actions = cli.actions(account)
    node_key = cli.unlock_node(node)
    result = actions.add_node(node_key, units=units, specs_hash=digest)
    cli.emit_action(result, f"added node {node_key.address} with {units} compute units")


@app.command("remove")
def remove(
    ctx: typer.Context,
    node: str = typer.Argument(..., help="Node address or local node key alias."),
    account: str | None = typer.Option(None, "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Remove one of your nodes (it must not be in a pool that has not ended)."""
    cli = state(ctx)
    cli.use_json(as_json)
    address = cli.node_address(node)
    result = cli.actions(account).remove_node(address)
    cli.emit_action(result, f"removed node {address}")


@app.command("list")
def list_(
    ctx: typer.Context,
    account: str | None = typer.Option(None, "--account", "-a", help=ACCOUNT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List your registered nodes with their validation and pool."""
    cli = state(ctx)
    cli.use_json(as_json)
    address = cli.address_of(account)
    nodes = cli.protocol().nodes_of(address)

    def show(console: Console) -> None:
        if not nodes:
            console.print(f"{address} has no nodes: add one with `loranet node add`")
            return
        table = Table(
            "node", "units", "validated", "blacklisted", "pool", title=f"nodes of {address}"
        )
        for n in nodes:
            table.add_row(
                n.address,
                str(n.compute_units),
                render.yes_no(n.validated),
                "[red]yes[/]" if n.blacklisted else "no",
                str(n.pool_id or "-"),
            )
        console.print(table)

    cli.emit([asdict(n) for n in nodes], show)


@app.command("import")
def import_(
    ctx: typer.Context,
    alias: str = typer.Argument(..., help="Name to store the node key under."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Import an existing node key (hidden prompt or stdin), e.g. moved from another machine."""
    cli = state(ctx)
    cli.use_json(as_json)
    key: str = typer.prompt("Node private key (hex)", hide_input=True, err=True)
    password = cli.password(f"Password for node key '{alias}'", confirm=True, node=True)
    info = cli.node_keystore().import_key(alias, key, password)
    cli.emit(_info(info), f"imported node key [bold]{info.alias}[/] {info.address}")


@app.command("sign")
def sign(
    ctx: typer.Context,
    node: str = typer.Option(..., "--node", help="Alias (or address) of the local node key."),
    pool_id: int = typer.Option(..., "--pool", help="Pool the node is to join."),
    provider: str = typer.Option(..., "--provider", help="Address of the provider that sends."),
    ttl: int = typer.Option(3600, "--ttl", min=60, help="Seconds the signature stays valid."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Sign a pool join with the node key (EIP-712) for a provider who sends it elsewhere.

    The node key stays on this machine: paste the printed JSON into the dashboard's console
    (`loranet web`), whose browser wallet sends the join from the provider's address.
    """
    import json

    from eth_utils import is_address, to_checksum_address

    from offchain.chain.errors import PrecheckError
    from offchain.chain.protocol import utc
    from offchain.chain.signing import sign_join_pool

    cli = state(ctx)
    cli.use_json(as_json)
    if not is_address(provider):
        raise PrecheckError(f"'{provider}' is not a valid provider address.")
    protocol = cli.protocol()
    protocol.pool(pool_id)  # refuses an unknown pool with the CLI's sentence
    node_key = cli.unlock_node(node)
    pools = protocol.pools
    deadline = protocol.now() + ttl
    signature = sign_join_pool(
        node_key,
        chain_id=protocol.client.chain_id,
        pool_contract=str(pools.address),
        pool_id=pool_id,
        provider=str(to_checksum_address(provider)),
        nonce=int(pools.functions.nonces(node_key.address).call()),
        deadline=deadline,
    )
    payload = {
        "kind": "loranet-join-pool",
        "chain_id": protocol.client.chain_id,
        "pool_id": pool_id,
        "node": node_key.address,
        "provider": str(to_checksum_address(provider)),
        "deadline": deadline,
        "signature": "0x" + bytes(signature).hex(),
    }

    def render(console: Console) -> None:
        console.print(
            f"node {node_key.address} signed joining pool {pool_id} for {payload['provider']} "
            f"(valid until {utc(deadline)}); paste this into the dashboard's console:",
            highlight=False,
        )
        typer.echo(json.dumps(payload))  # one unwrapped line, safe to copy

    cli.emit(payload, render)
