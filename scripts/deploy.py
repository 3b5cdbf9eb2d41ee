"""Deploy loranet's contracts to any Ape network and write ``deployments/<network>.json``.

    ape run deploy --network ethereum:local:foundry
    ape run deploy --network ethereum:sepolia:node --account deployer

On a local network the first test account deploys unless ``--account`` names another; on any
other network ``--account`` (or ``LORANET_DEPLOYER``) names an Ape account alias and a
confirmation is asked before anything is sent.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand

DEPLOYMENTS_DIR = Path(__file__).resolve().parent.parent / "deployments"
LOCAL_NETWORKS = {"local"}


def deployment_name(ecosystem_name: str, network_name: str) -> str:
    """File stem of a network's deployments file: ``local``, ``sepolia``, ``base-sepolia``."""
    return network_name if ecosystem_name == "ethereum" else f"{ecosystem_name}-{network_name}"


def pick_deployer(alias: str | None, is_local: bool) -> Any:
    if alias and alias.startswith("TEST::"):
        return accounts.test_accounts[int(alias.removeprefix("TEST::"))]
    if alias:
        return accounts.load(alias)
    if is_local:
        return accounts.test_accounts[0]
    raise click.UsageError("--account (or LORANET_DEPLOYER) is required on a live network")


def write_deployment(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)  # atomic: a crash never leaves a half-written file


@click.command(cls=ConnectedProviderCommand)
@click.option(
    "--account",
    "alias",
    envvar="LORANET_DEPLOYER",
    default=None,
    help="Ape account alias of the deployer (TEST::N for a test account).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation on a live network.")
def cli(ecosystem, network, alias: str | None, yes: bool) -> None:
    """Deploy loranet and write deployments/<network>.json."""
    is_local = network.name in LOCAL_NETWORKS
    deployer = pick_deployer(alias, is_local)
    name = deployment_name(ecosystem.name, network.name)
    if not is_local and not yes:
        question = f"Deploy loranet to {name} (chain {chain.chain_id}) from {deployer}?"
        click.confirm(question, abort=True)

    start_block = chain.blocks.head.number
    token = deployer.deploy(project.LoraToken, deployer)
    click.echo(f"LoraToken deployed at {token.address}")

    data = {
        "network": name,
        "chain_id": chain.chain_id,
        "deployer": deployer.address,
        "block": start_block,
        "deployed_at": int(time.time()),
        "contracts": {"LoraToken": token.address},
    }
    out = DEPLOYMENTS_DIR / f"{name}.json"
    write_deployment(out, data)
    click.echo(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    if os.environ.get("LORANET_DEPLOY_PRINT_JSON"):
        click.echo(json.dumps(data))
