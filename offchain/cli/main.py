"""Entry point of the ``loranet`` command."""

from __future__ import annotations

import json
import logging
import platform
from pathlib import Path

import typer

from offchain import __version__
from offchain.cli import account, devnet, doctor, node, pool, provider, rewards, stake, status
from offchain.cli import admin as admin_cli
from offchain.cli import artifacts as artifacts_cli
from offchain.cli import dht as dht_cli
from offchain.cli import domain as domain_cli
from offchain.cli import faucet as faucet_cli
from offchain.cli import gov as gov_cli
from offchain.cli import pool_admin as pool_admin_cli
from offchain.cli import validator_ops as validator_ops_cli
from offchain.cli import web as web_cli
from offchain.cli.context import CliState, state
from offchain.cli.errors import LoranetGroup
from offchain.cli.options import JsonOpt
from offchain.gateway import cli as gateway_cli
from offchain.logging import configure_logging
from offchain.validator import cli as validator_cli
from offchain.worker import cli as worker_cli
from trainer import cli as trainer_cli

app = typer.Typer(
    name="loranet",
    help="loranet: decentralized, verifiable LoRA fine-tuning. "
    "Stake, register compute nodes, train LoRA adapters together and earn for validated work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LoranetGroup,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="YAML settings file: keys as in LORANET_* without the prefix, and the sections "
        "worker:, validator:, web:, artifacts: (docs/operations.md).",
    ),
    network: str | None = typer.Option(
        None, "--network", "-n", help="Network name: 'local' (anvil) or e.g. 'sepolia'."
    ),
    rpc_url: str | None = typer.Option(None, "--rpc-url", help="JSON-RPC URL of the network."),
    as_json: JsonOpt = False,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens on stderr."),
) -> None:
    """loranet: decentralized, verifiable LoRA fine-tuning."""
    if verbose:
        configure_logging(logging.INFO)
    ctx.obj = CliState(
        config_file=config,
        overrides={"network": network, "rpc_url": rpc_url},
        json_output=as_json,
    )


@app.command()
def version(
    ctx: typer.Context,
    as_json: JsonOpt = False,
) -> None:
    """Print the loranet version and the versions of its main components."""
    info = {"loranet": __version__, "python": platform.python_version()}
    if state(ctx).use_json(as_json):
        typer.echo(json.dumps(info))
    else:
        typer.echo(f"loranet {info['loranet']} (python {info['python']})")


app.add_typer(account.app, name="account")
app.add_typer(provider.app, name="provider")
app.add_typer(stake.app, name="stake")
app.add_typer(node.app, name="node")
app.add_typer(pool.app, name="pool")
app.add_typer(rewards.app, name="rewards")
app.command("status")(status.status)
app.command("doctor")(doctor.doctor)
app.add_typer(devnet.app, name="devnet")
app.command("serve")(gateway_cli.serve)
app.add_typer(gateway_cli.keys_app, name="keys")
app.command("train")(trainer_cli.train)
app.command("hash")(trainer_cli.hash_path)
app.add_typer(worker_cli.app, name="worker")
app.add_typer(gov_cli.app, name="gov")
app.add_typer(validator_cli.app, name="validator")
# operators on any chain (pool creators, validators, admin): issue 12
pool_admin_cli.register(pool.app)
validator_ops_cli.register(validator_cli.app)
app.add_typer(admin_cli.app, name="admin")
app.add_typer(domain_cli.app, name="domain")
app.command("dht")(dht_cli.dht)
app.command("faucet")(faucet_cli.faucet)
app.add_typer(artifacts_cli.app, name="artifacts")
app.command("web")(web_cli.web)


def main() -> None:  # pragma: no cover - console script
    app()
