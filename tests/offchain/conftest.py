"""Fixtures for the provider CLI tests (settings, keys, chain client, CLI, devnet).

Chain tests run on the anvil that Ape's pytest plugin starts for the session
(``ape test --network ethereum:local:foundry``); our web3 client reaches it over HTTP at
``chain.provider.http_uri``. Ape snapshots the chain around every test, so transactions sent
by a test are rolled back before the next one. Each test gets its own data dir, keystore
folder and deployment file under ``tmp_path`` through ``LORANET_*`` variables, exactly as a
user would configure the CLI. Keystores use a small scrypt work factor to keep tests fast.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner, Result

from offchain.chain.units import ONE as LORA
from offchain.devnet import dev_account
from offchain.settings import Settings, load_settings

PASSWORD = "correct horse battery staple"
FAST_SCRYPT_N = 2**10


@pytest.fixture(scope="session")
def rpc_url(chain: Any) -> str:
    return str(chain.provider.http_uri)


@pytest.fixture(scope="session")
def deployer_key() -> LocalAccount:
    """Dev account 0: Ape's test account 0 (same mnemonic), deploys the token."""
    return dev_account(0)


@pytest.fixture(scope="session")
def funded_key() -> LocalAccount:
    """Dev account 5: holds ETH from anvil and LORA minted by ``token_address``."""
    return dev_account(5)


@pytest.fixture(scope="module")
def token_address(project: Any, accounts: Any, funded_key: LocalAccount) -> str:
    """A LoraToken deployed by test account 0, which can mint; dev account 5 holds 10,000."""
    owner = accounts[0]
    token = owner.deploy(project.LoraToken, owner)
    token.grantRole(token.MINTER_ROLE(), owner, sender=owner)
    token.setMintAllowance(10_000 * LORA, sender=owner)
    token.mint(funded_key.address, 10_000 * LORA, sender=owner)
    return str(token.address)


@pytest.fixture
def deployment_file(tmp_path: Path, token_address: str, chain: Any, accounts: Any) -> Path:
    """A deployment file as ``ape run deploy`` writes it, for the token above."""
    path = tmp_path / "deployments" / "local.json"
    path.parent.mkdir()
    data = {
        "network": "local",
        "chain_id": chain.chain_id,
        "block": 0,
        "deployer": str(accounts[0].address),
        "contracts": {"LoraToken": token_address},
    }
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def loranet_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rpc_url: str, deployment_file: Path
) -> Path:
    """Point every LORANET_* setting into ``tmp_path``; returns the data dir."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    data_dir = tmp_path / "data"
    values = {
        "LORANET_NETWORK": "local",
        "LORANET_RPC_URL": rpc_url,
        "LORANET_DEPLOYMENTS_FILE": str(deployment_file),
        "LORANET_DATA_DIR": str(data_dir),
        "LORANET_KEYSTORE_DIR": str(tmp_path / "keystore"),
        "LORANET_PASSWORD": PASSWORD,
        "LORANET_KEYSTORE_SCRYPT_N": str(FAST_SCRYPT_N),
        "LORANET_RPC_RETRIES": "1",
        "LORANET_HIVEMIND_PORT": str(_free_port()),  # not 31337: hivemind tests may hold it
    }
    for key in ("LORANET_ACCOUNT", "LORANET_NODE_PASSWORD", "LORANET_CONFIRMATIONS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return data_dir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(loranet_env: Path) -> Settings:
    return load_settings()


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Invoke ``loranet`` in-process; fails the test on an unexpected Python exception."""
    from offchain.cli.main import app  # imported here: other packages' CLIs load with it

    runner = CliRunner()

    def _run(*args: str, input: str | None = None, ok: bool | None = None) -> Result:
        result = runner.invoke(app, list(args), input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        if ok is True:
            assert result.exit_code == 0, result.output
        if ok is False:
            assert result.exit_code != 0, result.output
        return result

    return _run


@pytest.fixture(scope="session")
def password() -> str:
    return PASSWORD


@pytest.fixture(scope="session")
def scrypt_n() -> int:
    return FAST_SCRYPT_N


@pytest.fixture(scope="session")
def assert_refusal() -> Callable[[Result, str], None]:
    """A refusal: non-zero exit, the sentence in the output, and no traceback."""

    def _check(result: Result, sentence: str) -> None:
        assert result.exit_code != 0, result.output
        assert sentence in " ".join(result.output.split()), result.output
        assert "Traceback" not in result.output

    return _check
