"""``loranet devnet up|status|fund|down``: a real anvil from node_modules, deployed by Ape.

The devnet gets its own free port and data dir; the test stops it whatever happens.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import Result
from web3 import Web3

from offchain import devnet
from offchain.settings import load_settings

Run = Callable[..., Result]
LORA = 10**18


@pytest.fixture
def devnet_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, loranet_env: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("LORANET_DEVNET_PORT", str(port))
    monkeypatch.setenv("LORANET_RPC_URL", url)
    monkeypatch.setenv("LORANET_DEPLOYMENTS_FILE", str(tmp_path / "devnet.json"))
    yield url
    devnet.down(load_settings())  # never leave anvil behind


def test_up_fund_down(
    run_cli: Run, devnet_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = json.loads(run_cli("devnet", "up", "--lora", "2500", "--json", ok=True).stdout)
    assert up["rpc_url"] == devnet_env
    deployment = json.loads((tmp_path / "devnet.json").read_text())
    assert deployment["chain_id"] == 31337
    assert set(up["contracts"]) == set(deployment["contracts"]) >= {"LoraToken", "NetworkHub"}
    # account 0 too: it creates the devnet's pool and escrows its budget
    assert up["funded"] == [devnet.dev_account(i).address for i in range(10)]
    w3 = Web3(Web3.HTTPProvider(devnet_env))
    token = w3.eth.contract(
        address=deployment["contracts"]["LoraToken"],
        abi=[
            {
                "type": "function",
                "name": "balanceOf",
                "stateMutability": "view",
                "inputs": [{"name": "a", "type": "address"}],
                "outputs": [{"name": "", "type": "uint256"}],
            }
        ],
    )
    for address in up["funded"][1:]:
        assert token.functions.balanceOf(address).call() == 2_500 * LORA
    # account 0 escrowed (part of) its LORA as the demo pool's budget
    assert token.functions.balanceOf(up["funded"][0]).call() < 2_500 * LORA

    assert up["pool_id"] == 1
    monkeypatch.delenv("LORANET_RPC_URL")  # later commands find the devnet's port by themselves
    assert load_settings().resolved_rpc_url == devnet_env
    pools = json.loads(run_cli("pool", "list", "--json", ok=True).stdout)
    assert [(p["id"], p["status"]) for p in pools] == [(1, "active")]

    status = json.loads(run_cli("devnet", "status", "--json", ok=True).stdout)
    assert status["running"]["pid"] == up["pid"]
    again = run_cli("devnet", "up")
    assert again.exit_code == 1
    assert "a devnet is already running" in again.output

    run_cli("account", "new", "alice", ok=True)
    run_cli("devnet", "fund", "alice", "--lora", "1234", "--eth", "5", ok=True)
    alice = json.loads(run_cli("account", "list", "--json").stdout)[0]["address"]
    assert token.functions.balanceOf(alice).call() == 1234 * LORA
    assert w3.eth.get_balance(alice) == 5 * LORA

    before = w3.eth.get_block("latest")["timestamp"]
    moved = json.loads(run_cli("devnet", "advance", "2d", "--json", ok=True).stdout)
    assert moved["timestamp"] >= before + 2 * 86_400

    down = json.loads(run_cli("devnet", "down", "--json", ok=True).stdout)
    assert down["stopped"]["pid"] == up["pid"]
    assert devnet.port_free(up["port"])
    assert "no devnet is running" in run_cli("devnet", "down", ok=True).output


def test_port_in_use_is_refused(run_cli: Run, devnet_env: str) -> None:
    port = int(devnet_env.rsplit(":", 1)[1])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        result = run_cli("devnet", "up")
    assert result.exit_code == 1
    assert f"port {port} is already in use" in result.output
