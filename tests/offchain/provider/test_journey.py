"""The whole provider journey through the CLI, on the real contracts.

new account → fund → register → add node → (validator validates) → status → join pool →
unbond → withdraw refused before release → time travel → withdraw → leave pool → remove node.
The validator and the clock are played by ``loranet devnet validate|advance`` (dev account 0 is
the deployment's validator), as in docs/provider.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import Result

from offchain.chain.protocol import Protocol
from offchain.chain.units import ONE as LORA

Run = Callable[..., Result]
WEEK = 7 * 24 * 3600


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_provider_journey(
    run_cli: Run,
    loranet_env: Path,
    add_node: Callable[..., Result],
    make_pool: Callable[..., int],
    protocol: Protocol,
) -> None:
    pool_id = make_pool()

    alice = as_json(run_cli("account", "new", "alice", "--json"))["address"]
    run_cli("devnet", "fund", "alice", "--lora", "5000", "--eth", "10", ok=True)

    registered = as_json(run_cli("provider", "register", "--stake", "2000", "--yes", "--json"))
    assert len(registered["transactions"]) == 1  # permit + register in one transaction
    assert protocol.provider(alice).staked == 2_000 * LORA

    node = as_json(run_cli("node", "keygen", "gpu-0", "--json"))["address"]
    added = as_json(add_node("--json"))
    assert added["node"] == node and added["compute_units"] == 30
    run_cli("devnet", "validate", "gpu-0", ok=True)  # the devnet's validator stands in

    status = as_json(run_cli("status", "--json"))
    assert status["registered"] is True
    assert int(status["staked"]) == 2_000 * LORA
    assert int(status["min_stake"]) == 1_300 * LORA  # 1,000 base + 10 x 30 units
    assert int(status["lora"]) == 3_000 * LORA
    assert [(n["address"], n["validated"], n["compute_units"]) for n in status["nodes"]] == [
        (node, True, 30)
    ]
    human = run_cli("status", ok=True).output
    assert "minimum      1,300 LORA for 30 compute units" in human

    as_json(run_cli("pool", "join", str(pool_id), "--node", "gpu-0", "--yes", "--json"))
    shown = as_json(run_cli("pool", "show", str(pool_id), "--json"))
    assert shown["members"] == [node] and shown["status"] == "active"
    listed = as_json(run_cli("pool", "list", "--json"))
    assert [(p["id"], p["node_count"]) for p in listed] == [(pool_id, 1)]

    unbond = as_json(run_cli("stake", "unbond", "500", "--yes", "--json"))
    assert unbond["release_at"] >= protocol.now() + WEEK - 5
    early = run_cli("stake", "withdraw")
    assert early.exit_code == 1
    assert "nothing to withdraw yet: 500 LORA is unbonding" in early.output

    run_cli("devnet", "advance", str(WEEK + 1), ok=True)  # evm_increaseTime + evm_mine

    withdrawn = as_json(run_cli("stake", "withdraw", "--yes", "--json"))
    assert int(withdrawn["withdrawn"]) == 500 * LORA
    final = protocol.provider(alice)
    assert (final.staked, final.unbonding, final.lora) == (1_500 * LORA, 0, 3_500 * LORA)

    as_json(run_cli("pool", "leave", "--node", "gpu-0", "--yes", "--json"))
    as_json(run_cli("node", "remove", "gpu-0", "--yes", "--json"))
    assert as_json(run_cli("node", "list", "--json")) == []
    rewards = as_json(run_cli("rewards", "show", "--json"))
    assert rewards == {"provider": alice, "pending_rewards": "0"}


def test_register_with_approval_then_add_stake(
    run_cli: Run, provider: Any, protocol: Protocol, make_pool: Callable[..., int]
) -> None:
    registered = as_json(
        run_cli("provider", "register", "--stake", "1500", "--approve", "--yes", "--json")
    )
    assert len(registered["transactions"]) == 2  # approve, then register
    added = as_json(run_cli("stake", "add", "250.5", "--yes", "--json"))
    assert len(added["transactions"]) == 2  # the allowance was used up: approve again
    assert protocol.provider(provider.address).staked == 1_750_500 * LORA // 1000
    human = run_cli("stake", "add", "1", "--yes", ok=True).output
    assert "added 1 LORA to the stake" in human
    pool_id = make_pool()
    shown = run_cli("pool", "show", str(pool_id), ok=True).output
    assert f"pool {pool_id} (active)" in shown
    assert "100 LORA per round" in shown


def test_devnet_helpers_refuse_other_networks(
    run_cli: Run, loranet_env: Path, deployment_file: Path, monkeypatch: Any
) -> None:
    sepolia = deployment_file.with_name("sepolia.json")
    sepolia.write_text(deployment_file.read_text())
    monkeypatch.setenv("LORANET_NETWORK", "sepolia")
    monkeypatch.setenv("LORANET_DEPLOYMENTS_FILE", str(sepolia))
    result = run_cli("devnet", "advance", "1d")
    assert result.exit_code == 1
    assert "devnet helpers only run against a local anvil" in result.output
