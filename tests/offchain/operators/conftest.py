"""Fixtures for the operator commands (admin, domains, pool creators, validators) on the
session ``deployment`` (``tests/conftest.py``): test account 0 is admin, validator and pool
creator; accounts 1..9 hold 100,000 LORA. Each test works on a copy of the deployment file
and its own keystore; Ape rolls the chain back after it."""

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
from offchain.devnet import dev_account
from offchain.settings import Settings

Run = Callable[..., Result]


@pytest.fixture
def deployment_file(deployment: Any, tmp_path: Path) -> Path:
    """A copy of the session's deployment file."""
    path = tmp_path / "deployments" / "local.json"
    path.parent.mkdir()
    shutil.copy(deployment.file, path)
    return path


@pytest.fixture
def protocol(settings: Settings) -> Protocol:
    return Protocol(ChainClient.connect(settings))


@pytest.fixture
def admin_key(run_cli: Run, loranet_env: Path) -> LocalAccount:
    """Dev account 0 (admin, validator, pool creator) imported as ``admin``."""
    key = dev_account(0)
    run_cli("account", "import", "admin", input=f"{key.key.hex()}\n", ok=True)
    return key


@pytest.fixture
def outsider_key(run_cli: Run, loranet_env: Path) -> LocalAccount:
    """Dev account 6 (no roles) imported as ``outsider``."""
    key = dev_account(6)
    run_cli("account", "import", "outsider", input=f"{key.key.hex()}\n", ok=True)
    return key


@pytest.fixture
def nonce_of(protocol: Protocol) -> Callable[[str], int]:
    def _nonce(address: str) -> int:
        return int(protocol.w3.eth.get_transaction_count(address))

    return _nonce


@pytest.fixture
def refused(
    run_cli: Run,
    nonce_of: Callable[[str], int],
    assert_refusal: Callable[[Result, str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Result]:
    """Run a command as ``who`` that must be refused with ``sentence``: nothing sent, and
    no password asked (prechecks come before the key)."""

    def _refused(who: LocalAccount, *args: str, sentence: str) -> Result:
        before = nonce_of(who.address)
        with monkeypatch.context() as patch:
            patch.delenv("LORANET_PASSWORD", raising=False)
            result = run_cli(*args, input="")
        assert_refusal(result, sentence)
        assert "Password" not in result.output, "the key was unlocked before the prechecks"
        assert nonce_of(who.address) == before, "a transaction was sent"
        return result

    return _refused


@pytest.fixture
def cli_json(run_cli: Run) -> Callable[..., Any]:
    """Run ``loranet <args> --json`` successfully, confirming on stdin as a script would
    (``y`` lines: no terminal); its JSON."""

    def _run(*args: str) -> Any:
        result = run_cli(*args, "--json", input="y\ny\n", ok=True)
        return json.loads(result.stdout.strip().splitlines()[-1])

    return _run
