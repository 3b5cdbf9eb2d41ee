"""``loranet node ...``: hardware specs and node keys (local), compute nodes (on chain)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli import render
from offchain.cli.context import state
from offchain.cli.options import AccountOpt, DryRunOpt, JsonOpt, YesOpt

if TYPE_CHECKING:
    from offchain.keys import KeyInfo

app = typer.Typer(
    help="Compute nodes: hardware specs, node keys and their registration.", no_args_is_help=True
)


def _info(info: KeyInfo) -> dict[str, str]:
    return {"alias": info.alias, "address": info.address, "path": str(info.path)}


@app.command("specs")
def specs(
    ctx: typer.Context,
    output: Path = typer.Option(
        Path("specs.json"), "--output", "-o", help="Specs file to write ('-' for stdout only)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing specs file."),
    as_json: JsonOpt = False,
) -> None:
    """Detect this machine's GPUs (NVML), CPU, memory and disk (psutil) and write the specs
    file `node add --specs` registers; compute units: one per GB of GPU memory, 1 without."""
    from offchain import specs as node_specs

    cli = state(ctx)
    cli.use_json(as_json)
    to_stdout = str(output) == "-"
    if not to_stdout and output.exists() and not force:
        raise node_specs.SpecsError(f"{output} exists: pass --force to overwrite it.")
    with cli.spinner("detecting hardware"):
        found = node_specs.detect()
    data = found.as_json()
    if not to_stdout:
        import json

        try:
            output.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        except OSError as err:
            raise node_specs.SpecsError(f"cannot write {output}: {err.strerror}.") from None

    def show(console: Console) -> None:
        gpu = (
            f"{found.gpus}x {found.gpu} ({found.vram_gb:g} GB each)"
            if found.gpus and found.vram_gb is not None
            else "none"
        )
        console.print(f"GPU    {gpu}")
        console.print(f"CPU    {found.cpu or 'unknown'}, {found.cpu_cores} cores")
        console.print(f"RAM    {found.ram_gb:g} GB; free disk {found.disk_gb:g} GB")
        console.print(f"units  [bold]{found.declared_units}[/] compute units")
        if not to_stdout:
            console.print(f"wrote {output}: register with `loranet node add --specs {output}`")

    cli.emit({**data, "file": None if to_stdout else str(output)}, show)


@app.command("keygen")
def keygen(
    ctx: typer.Context,
    alias: str = typer.Argument(..., help="Name of the node key (e.g. gpu-0)."),
    as_json: JsonOpt = False,
) -> None:
    """Create a node key: a separate account that only signs for its node, never holds stake."""
    cli = state(ctx)
    cli.use_json(as_json)
    keystore = cli.node_keystore()
    keystore.check_new_alias(alias)
    password = cli.password(f"Password for node key '{alias}'", confirm=True, node=True, new=True)
    info = keystore.create(alias, password)
    cli.emit(_info(info), f"created node key [bold]{info.alias}[/] {info.address} in {info.path}")


@app.command("keys")
def keys(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the local node keys."""
    cli = state(ctx)
    cli.use_json(as_json)
    infos = cli.node_keystore().entries()
    folder = cli.settings.resolved_node_keystore_dir

    def show(console: Console) -> None:
        if not infos:
            console.print(f"no node keys in {folder}: create one with `loranet node keygen`")
            return
        table = Table("alias", "address", title=f"node keys in {folder}")
        for info in infos:
            table.add_row(info.alias, info.address)
        console.print(table)

    cli.emit([_info(info) for info in infos], show)


@app.command("add")
def add(
    ctx: typer.Context,
    node: str = typer.Option(..., "--node", help="Alias (or address) of the local node key."),
    specs: Path = typer.Option(
        ..., "--specs", help="Specs file (`loranet node specs` writes it; checked, then hashed)."
    ),
    units: int | None = typer.Option(
        None,
        "--units",
        help="Compute units (default: the file's 'units', else one per GB of GPU memory).",
    ),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Register a compute node: the node key signs (EIP-712), the provider sends."""
    from offchain import specs as node_specs
    from offchain.chain.signing import specs_hash

    cli = state(ctx)
    cli.use_json(as_json)
    declared = node_specs.load_specs(specs)
    chosen = node_specs.units_for(declared, units, path=specs)
    digest = specs_hash(specs)
    actions = cli.actions(account, yes=yes, dry_run=dry_run)
    node_key = cli.node_key(node)
    result = actions.add_node(node_key, units=chosen, specs_hash=digest)
    label = cli.node_label(node_key.address)
    cli.emit_action(result, f"added node {label} with {chosen} compute units")


@app.command("remove")
def remove(
    ctx: typer.Context,
    node: str = typer.Argument(..., help="Node address or local node key alias."),
    account: AccountOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove one of your nodes (it must not be in a pool that has not ended)."""
    cli = state(ctx)
    cli.use_json(as_json)
    address = cli.node_address(node)
    result = cli.actions(account, yes=yes, dry_run=dry_run).remove_node(address)
    cli.emit_action(result, f"removed node {cli.node_label(address)}")


@app.command("list")
def list_(ctx: typer.Context, account: AccountOpt = None, as_json: JsonOpt = False) -> None:
    """List your registered nodes with their local alias, validation and pool."""
    cli = state(ctx)
    cli.use_json(as_json)
    address = cli.address_of(account)
    nodes = cli.protocol().nodes_of(address)
    aliases = cli.node_aliases()

    def show(console: Console) -> None:
        if not nodes:
            console.print(f"{address} has no nodes: add one with `loranet node add`")
            return
        table = Table(
            "alias",
            "node",
            "units",
            "validated",
            "blacklisted",
            "pool",
            title=f"nodes of {address}",
        )
        for n in nodes:
            table.add_row(
                aliases.get(n.address.lower(), "-"),
                n.address,
                str(n.compute_units),
                render.yes_no(n.validated),
                "[red]yes[/]" if n.blacklisted else "no",
                str(n.pool_id or "-"),
            )
        console.print(table)

    cli.emit([{**asdict(n), "alias": aliases.get(n.address.lower())} for n in nodes], show)


@app.command("import")
def import_(
    ctx: typer.Context,
    alias: str = typer.Argument(..., help="Name to store the node key under."),
    as_json: JsonOpt = False,
) -> None:
    """Import an existing node key (hidden prompt or stdin), e.g. moved from another machine."""
    cli = state(ctx)
    cli.use_json(as_json)
    keystore = cli.node_keystore()
    keystore.check_new_alias(alias)
    key = cli.secret("Node private key (hex)")
    keystore.check_private_key(key)
    password = cli.password(f"Password for node key '{alias}'", confirm=True, node=True, new=True)
    info = keystore.import_key(alias, key, password)
    cli.emit(_info(info), f"imported node key [bold]{info.alias}[/] {info.address}")


@app.command("sign")
def sign(
    ctx: typer.Context,
    node: str = typer.Option(..., "--node", help="Alias (or address) of the local node key."),
    pool_id: int = typer.Option(..., "--pool", help="Pool the node is to join."),
    provider: str = typer.Option(..., "--provider", help="Address of the provider that sends."),
    ttl: int = typer.Option(3600, "--ttl", min=60, help="Seconds the signature stays valid."),
    as_json: JsonOpt = False,
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
