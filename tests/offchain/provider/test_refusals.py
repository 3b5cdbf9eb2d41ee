"""Every refusal of the issue: one sentence, exit code 1, no traceback, and nothing sent
(the provider's nonce is unchanged)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import Result

Run = Callable[..., Result]
Refusal = Callable[[Result, str], None]


@pytest.fixture
def refused(
    run_cli: Run,
    provider: LocalAccount,
    nonce_of: Callable[[str], int],
    assert_refusal: Refusal,
) -> Callable[..., Result]:
    """Run a command that must be refused with ``sentence`` without sending anything."""

    def _refused(*args: str, sentence: str) -> Result:
        before = nonce_of(provider.address)
        result = run_cli(*args)
        assert_refusal(result, sentence)
        assert nonce_of(provider.address) == before, "a transaction was sent"
        return result

    return _refused


def join(pool_id: int | str) -> tuple[str, ...]:
    """``loranet pool join <pool_id> --node gpu-0``."""
    return ("pool", "join", str(pool_id), "--node", "gpu-0")


def free_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_wrong_password(refused: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORANET_PASSWORD", "not the password")
    refused("provider", "register", "--stake", "2000", sentence="wrong password for account 'prov'")


def test_unknown_account(refused: Callable[..., Result]) -> None:
    refused("stake", "add", "10", "--account", "nobody", sentence="unknown account 'nobody' in")


def test_rpc_down(refused: Callable[..., Result]) -> None:
    url = free_url()
    refused(
        "--rpc-url",
        url,
        "provider",
        "register",
        "--stake",
        "2000",
        sentence=f"cannot reach the RPC at {url}: is the node running?",
    )


def test_chain_id_mismatch(refused: Callable[..., Result], deployment_file: Path) -> None:
    data = json.loads(deployment_file.read_text())
    deployment_file.write_text(json.dumps({**data, "chain_id": 5}))
    refused(
        "provider",
        "register",
        "--stake",
        "2000",
        sentence=f"serves chain 31337 but {deployment_file} was written for chain 5",
    )


def test_deployment_file_missing(
    refused: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "local.json"
    monkeypatch.setenv("LORANET_DEPLOYMENTS_FILE", str(missing))
    refused("status", sentence=f"deployment file {missing} not found: run `loranet devnet up`")


def test_stake_below_minimum(refused: Callable[..., Result]) -> None:
    refused(
        "provider",
        "register",
        "--stake",
        "500",
        sentence="stake 500 LORA is below the minimum 1,000 LORA.",
    )


def test_stake_below_minimum_for_units(
    refused: Callable[..., Result], run_cli: Run, node_key: str, specs_file: Path
) -> None:
    run_cli("provider", "register", "--stake", "1000", "--yes", ok=True)
    refused(
        "node",
        "add",
        "--node",
        "gpu-0",
        "--units",
        "30",
        "--specs",
        str(specs_file),
        sentence="stake 1,000 LORA is below the minimum 1,300 LORA for 30 compute units",
    )


def test_insufficient_balance(refused: Callable[..., Result], provider: LocalAccount) -> None:
    refused(
        "provider",
        "register",
        "--stake",
        "200000",
        sentence=f"insufficient balance: {provider.address} holds 100,000 LORA "
        "but 200,000 LORA is needed.",
    )


@pytest.mark.usefixtures("registered")
def test_already_registered(refused: Callable[..., Result], provider: LocalAccount) -> None:
    refused(
        "provider",
        "register",
        "--stake",
        "2000",
        sentence=f"{provider.address} is already registered as a provider.",
    )


@pytest.mark.usefixtures("registered")
def test_node_registered_elsewhere(
    refused: Callable[..., Result],
    run_cli: Run,
    other_provider: Callable[..., Any],
    specs_file: Path,
) -> None:
    other, node = other_provider()
    run_cli("node", "import", "taken", input=f"{node.key.hex()}\n", ok=True)
    refused(
        "node",
        "add",
        "--node",
        "taken",
        "--units",
        "10",
        "--specs",
        str(specs_file),
        sentence=f"node {node.address} is already registered by another provider "
        f"({other.address}).",
    )


def test_unbond_below_minimum(refused: Callable[..., Result], with_node: str) -> None:
    refused(
        "stake",
        "unbond",
        "800",
        sentence="unbonding 800 LORA would leave 1,200 LORA staked, below the minimum "
        "1,300 LORA for 30 compute units",
    )


@pytest.mark.usefixtures("registered")
def test_withdraw_before_release(refused: Callable[..., Result], run_cli: Run) -> None:
    run_cli("stake", "unbond", "500", "--yes", ok=True)
    refused(
        "stake",
        "withdraw",
        sentence="nothing to withdraw yet: 500 LORA is unbonding and the first release is at",
    )


def test_join_full_pool(
    refused: Callable[..., Result],
    with_node: str,
    make_pool: Callable[..., int],
    other_provider: Callable[..., Any],
) -> None:
    pool_id = make_pool(max_nodes=1)
    other, node = other_provider()
    other.join_pool(pool_id, node)
    refused(*join(pool_id), sentence=f"pool {pool_id} is full (1 of 1 nodes).")


def test_join_ended_pool(
    refused: Callable[..., Result],
    with_node: str,
    make_pool: Callable[..., int],
    hub: Any,
    admin: Any,
) -> None:
    pool_id = make_pool()
    hub.endPool(pool_id, sender=admin)
    refused(*join(pool_id), sentence=f"pool {pool_id} has ended.")


def test_join_pool_that_blacklists_the_node(
    refused: Callable[..., Result],
    with_node: str,
    make_pool: Callable[..., int],
    hub: Any,
    admin: Any,
) -> None:
    pool_id = make_pool()
    hub.setPoolBlacklisted(pool_id, with_node, True, sender=admin)
    refused(*join(pool_id), sentence=f"node {with_node} is blacklisted in pool {pool_id}.")


def test_claim_with_nothing_to_claim(
    refused: Callable[..., Result], provider: LocalAccount
) -> None:
    refused(
        "rewards", "claim", sentence=f"nothing to claim: {provider.address} has no pending rewards."
    )


@pytest.mark.usefixtures("registered")
def test_unvalidated_node_cannot_join(
    refused: Callable[..., Result],
    node_key: str,
    add_node: Callable[..., Result],
    make_pool: Callable[..., int],
) -> None:
    pool_id = make_pool()
    add_node()
    refused(*join(pool_id), sentence=f"node {node_key} is not validated yet")


def test_unexpected_chain_answer_is_still_one_sentence(
    refused: Callable[..., Result], deployment_file: Path
) -> None:
    """A deployment file pointing ComputePool at the token: the view call reverts without a
    known reason, which the root command reports as a sentence too."""
    data = json.loads(deployment_file.read_text())
    data["contracts"]["ComputePool"] = data["contracts"]["LoraToken"]
    deployment_file.write_text(json.dumps(data))
    refused("pool", "list", sentence="the node answered with an error: execution reverted")


def test_unknown_pool(refused: Callable[..., Result], with_node: str) -> None:
    refused(*join(99), sentence="pool 99 does not exist.")


@pytest.mark.usefixtures("registered")
def test_removing_another_providers_node(
    refused: Callable[..., Result], other_provider: Callable[..., Any]
) -> None:
    other, node = other_provider()
    refused(
        "node",
        "remove",
        node.address,
        sentence=f"node {node.address} belongs to another provider ({other.address}).",
    )
