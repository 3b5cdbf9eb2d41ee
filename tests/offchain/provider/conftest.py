"""Fixtures for provider-journey and refusal tests on the whole protocol.

They build on the session ``deployment`` fixture (``tests/conftest.py``): the protocol deployed
once with ``deploy_all``; test account 0 is admin, validator and pool creator; accounts 1..9
hold 100,000 LORA. Each test works on a copy of the deployment file and its own keystore
(``loranet_env``), and Ape rolls the chain back after it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import Result

from offchain.chain.client import ChainClient
from offchain.chain.protocol import Protocol
from offchain.chain.provider import ProviderActions
from offchain.chain.signing import specs_hash
from offchain.chain.tx import TxSender
from offchain.chain.units import ONE as LORA
from offchain.devnet import dev_account
from offchain.settings import Settings

Run = Callable[..., Result]


@pytest.fixture
def deployment_file(deployment: Any, tmp_path: Path) -> Path:
    """A copy of the session's deployment file (tests may damage theirs)."""
    path = tmp_path / "deployments" / "local.json"
    path.parent.mkdir()
    shutil.copy(deployment.file, path)
    return path


@pytest.fixture
def hub(deployment: Any, project: Any) -> Any:
    """The hub as an Ape contract, for what admins, validators and pool creators do."""
    return project.NetworkHub.at(deployment.contracts["NetworkHub"])


@pytest.fixture
def admin(deployment: Any) -> Any:
    return deployment.deployer


@pytest.fixture
def protocol(settings: Settings) -> Protocol:
    return Protocol(ChainClient.connect(settings))


@pytest.fixture
def make_pool(
    hub: Any, admin: Any, deployment: Any, protocol: Protocol, project: Any
) -> Callable[..., int]:
    """Create (and by default start) a pool as the admin; returns its id."""

    def _make(*, max_nodes: int = 4, min_units: int = 1, start: bool = True) -> int:
        params = (
            deployment.data["domains"]["lora-finetune"],
            b"\x01" * 32,
            "file:///models/tiny",
            b"\x02" * 32,
            "file:///data/shard",
            "{}",
            3600,
            600,
            100 * LORA,
            max_nodes,
            min_units,
        )
        budget = 100 * params[8]  # the creator escrows 100 rounds of rewards
        token = project.LoraToken.at(deployment.contracts["LoraToken"])
        token.approve(deployment.contracts["WorkLedger"], budget, sender=admin)
        hub.createPool(params, budget, 0, 0, b"\x00" * 32, b"\x00" * 32, sender=admin)
        pool_id = protocol.pool_count()
        if start:
            hub.startPool(pool_id, sender=admin)
        return pool_id

    return _make


@pytest.fixture
def validate(hub: Any, admin: Any) -> Callable[[str], None]:
    def _validate(node: str) -> None:
        hub.setNodeValidated(node, True, sender=admin)

    return _validate


@pytest.fixture
def specs_file(tmp_path: Path) -> Path:
    path = tmp_path / "specs.json"
    path.write_text(json.dumps({"gpu": "RTX A6000", "vram_gb": 48, "cpu_cores": 16}))
    return path


@pytest.fixture
def other_provider(
    settings: Settings, specs_file: Path, validate: Callable[[str], None]
) -> Callable[..., tuple[ProviderActions, LocalAccount]]:
    """Another provider (a dev account) registered with one validated node, set up directly
    through ``ProviderActions`` (not the CLI)."""

    def _make(
        index: int = 7, node_index: int = 17, units: int = 10
    ) -> tuple[ProviderActions, LocalAccount]:
        client = ChainClient.connect(settings)
        actions = ProviderActions(Protocol(client), TxSender(client, dev_account(index)))
        actions.register(2_000 * LORA)
        node = dev_account(node_index)
        actions.add_node(node, units=units, specs_hash=specs_hash(specs_file))
        validate(node.address)
        return actions, node

    return _make


@pytest.fixture
def provider(run_cli: Run, loranet_env: Path) -> LocalAccount:
    """Dev account 3 (100,000 LORA) imported into the CLI's keystore as ``prov``."""
    key = dev_account(3)
    run_cli("account", "import", "prov", input=f"{key.key.hex()}\n", ok=True)
    return key


@pytest.fixture
def node_key(run_cli: Run, loranet_env: Path) -> str:
    """A fresh node key ``gpu-0`` in the CLI's node keystore; returns its address."""
    out = run_cli("node", "keygen", "gpu-0", "--json", ok=True)
    return str(json.loads(out.stdout)["address"])


@pytest.fixture
def registered(run_cli: Run, provider: LocalAccount) -> LocalAccount:
    """``provider`` registered through the CLI with 2,000 LORA staked."""
    run_cli("provider", "register", "--stake", "2000", "--yes", ok=True)
    return provider


@pytest.fixture
def add_node(run_cli: Run, specs_file: Path) -> Callable[..., Result]:
    """Add the node key ``gpu-0`` through the CLI (``--yes``), 30 compute units unless
    ``units`` says otherwise; ``extra`` arguments (``--json``) go to the command."""

    def _add(*extra: str, units: int = 30) -> Result:
        return run_cli(
            "node", "add", "--node", "gpu-0", "--units", str(units), "--specs", str(specs_file),
            "--yes", *extra, ok=True,
        )  # fmt: skip

    return _add


@pytest.fixture
def with_node(
    registered: LocalAccount,
    node_key: str,
    add_node: Callable[..., Result],
    validate: Callable[[str], None],
) -> str:
    """``provider`` registered with 2,000 LORA and node ``gpu-0`` (30 units, validated);
    returns the node's address."""
    add_node()
    validate(node_key)
    return node_key


@pytest.fixture
def nonce_of(protocol: Protocol) -> Callable[[str], int]:
    def _nonce(address: str) -> int:
        return int(protocol.w3.eth.get_transaction_count(address))

    return _nonce
