"""``loranet devnet up|down|status|fund``: a local anvil with loranet deployed."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.console import Console

from offchain.cli.context import state
from offchain.cli.options import JsonOpt

app = typer.Typer(
    help="A local dev chain (anvil) with loranet deployed and dev accounts funded.",
    no_args_is_help=True,
)


@app.command("up")
def up(
    ctx: typer.Context,
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="RPC port (default 8545; later commands use it)."
    ),
    deploy: bool = typer.Option(True, "--deploy/--no-deploy", help="Deploy loranet."),
    lora: str = typer.Option("100000", "--lora", help="LORA for each of dev accounts 1..9."),
    demo_pool: bool = typer.Option(
        True, "--demo-pool/--no-demo-pool", help="Create and start a demo pool."
    ),
    as_json: JsonOpt = False,
) -> None:
    """Start anvil from node_modules, deploy loranet and fund dev accounts 1..9 with LORA."""
    from offchain import devnet
    from offchain.chain.units import format_lora, parse_amount

    cli = state(ctx)
    cli.use_json(as_json)
    settings = cli.settings
    amount = parse_amount(lora)
    info, deployment = devnet.up(
        settings,
        port=port or settings.devnet_port,
        deploy=deploy,
        fund_lora=amount,
        spinner=cli.spinner,
    )
    funded = list(deployment.funded) if deployment else []
    pool_id = None
    if deployment is not None and demo_pool:
        from offchain import devnet_tools

        local = settings.model_copy(update={"rpc_url": info.rpc_url, "network": "local"})
        with cli.spinner("creating a demo pool"):
            pool_id = devnet_tools.create_demo_pool(local)
    payload = {
        **asdict(info),
        "chain_id": devnet.DEV_CHAIN_ID,
        "contracts": deployment.contracts if deployment else {},
        "funded": funded,
        "lora_each": str(amount),
        "pool_id": pool_id,
    }

    def render(console: Console) -> None:
        console.print(f"devnet running at [bold]{info.rpc_url}[/] (pid {info.pid})")
        if deployment is not None:
            console.print(f"deployment written to {info.deployments_file}")
            for name, address in sorted(deployment.contracts.items()):
                console.print(f"  {name:<16} {address}")
        if funded:
            console.print(f"funded {len(funded)} dev accounts with {format_lora(amount)} each")
        if pool_id is not None:
            console.print(f"demo pool {pool_id} is active")
        if info.port != 8545:
            console.print(f"later commands use {info.rpc_url} while it runs (no --rpc-url needed)")
        console.print(f"log: {info.log_file}; stop it with `loranet devnet down`")

    cli.emit(payload, render)


@app.command("down")
def down(
    ctx: typer.Context,
    as_json: JsonOpt = False,
) -> None:
    """Stop the devnet started by `loranet devnet up`."""
    from offchain import devnet

    cli = state(ctx)
    cli.use_json(as_json)
    info = devnet.down(cli.settings)
    if info is None:
        cli.emit({"stopped": None}, "no devnet is running")
    else:
        cli.emit({"stopped": asdict(info)}, f"devnet at {info.rpc_url} (pid {info.pid}) stopped")


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: JsonOpt = False,
) -> None:
    """Say whether a devnet is running, and where."""
    from offchain import devnet

    cli = state(ctx)
    cli.use_json(as_json)
    info = devnet.running(cli.settings)
    if info is None:
        cli.emit({"running": None}, "no devnet is running")
    else:
        cli.emit({"running": asdict(info)}, f"devnet at {info.rpc_url} (pid {info.pid})")


@app.command("fund")
def fund(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="Address (or local account alias) to fund."),
    lora: str = typer.Option("10000", "--lora", help="LORA to mint to it."),
    eth: str = typer.Option("100", "--eth", help="ETH balance to set (anvil only)."),
    as_json: JsonOpt = False,
) -> None:
    """Give an account dev ETH and LORA on the devnet (dev chains only)."""
    from offchain import devnet
    from offchain.chain.units import format_eth, format_lora, parse_amount

    cli = state(ctx)
    cli.use_json(as_json)
    settings = cli.settings
    target = cli.any_address(address)
    lora_wei, eth_wei = parse_amount(lora), parse_amount(eth, symbol="ETH")
    with cli.spinner(f"funding {target}"):
        devnet.fund(settings, [target], lora=lora_wei, eth=eth_wei)
    cli.emit(
        {"address": target, "lora": str(lora_wei), "eth": str(eth_wei)},
        f"funded {target} with {format_lora(lora_wei)} and {format_eth(eth_wei)}",
    )


@app.command("validate")
def validate(
    ctx: typer.Context,
    node: str = typer.Argument(..., help="Node address or local node key alias."),
    as_json: JsonOpt = False,
) -> None:
    """Validate a node as the devnet's validator (dev account 0), standing in for validators."""
    from offchain import devnet_tools

    cli = state(ctx)
    cli.use_json(as_json)
    address = cli.node_address(node)
    with cli.spinner(f"validating {address}"):
        tx_hash = devnet_tools.validate_node(cli.settings, address)
    cli.emit({"node": address, "tx_hash": tx_hash}, f"node {address} is validated")


@app.command("pool")
def pool(
    ctx: typer.Context,
    max_nodes: int = typer.Option(8, "--max-nodes", min=1, max=2**32 - 1, help="Node limit."),
    round_length: int = typer.Option(
        600, "--round-length", min=1, max=2**32 - 1, help="Seconds per round."
    ),
    reward: str = typer.Option("100", "--reward", help="LORA per round."),
    as_json: JsonOpt = False,
) -> None:
    """Create and start a demo pool as the devnet's pool creator (dev account 0)."""
    from offchain import devnet_tools
    from offchain.chain.units import parse_amount

    cli = state(ctx)
    cli.use_json(as_json)
    with cli.spinner("creating a demo pool"):
        pool_id = devnet_tools.create_demo_pool(
            cli.settings,
            max_nodes=max_nodes,
            round_length=round_length,
            reward=parse_amount(reward),
        )
    cli.emit({"pool_id": pool_id}, f"pool {pool_id} created and started")


@app.command("advance")
def advance(
    ctx: typer.Context,
    duration: str = typer.Argument(..., help="How far: seconds, or with a unit: 90m, 8h, 7d."),
    as_json: JsonOpt = False,
) -> None:
    """Move the devnet's clock forward (e.g. past an unbonding period) and mine a block."""
    from offchain import devnet_tools
    from offchain.chain.protocol import utc

    cli = state(ctx)
    cli.use_json(as_json)
    seconds = _seconds(duration)
    now = devnet_tools.advance_time(cli.settings, seconds)
    cli.emit({"timestamp": now}, f"chain time is now {utc(now)}")


def _seconds(text: str) -> int:
    from offchain import devnet

    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
    raw = text.strip().lower()
    factor = units.get(raw[-1:], 0)
    number = raw[:-1] if factor else raw
    try:
        value = int(number) * (factor or 1)
    except ValueError:
        raise devnet.DevnetError(f"'{text}' is not a duration (e.g. 3600, 90m, 8h, 7d).") from None
    if value <= 0:
        raise devnet.DevnetError("the duration must be positive.")
    return value
