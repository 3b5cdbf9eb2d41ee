"""Rewards end to end: a node of the CLI's provider reports a round, the validator accepts it,
the round is finalized, and ``loranet rewards show|claim`` mint the reward."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import Result

from offchain.chain.protocol import Protocol
from offchain.chain.signing import WORK_REPORT_TYPE as WORK_REPORT
from offchain.chain.signing import sign_typed
from offchain.chain.tx import TxRequest, TxSender
from offchain.chain.units import ONE as LORA
from offchain.keys import Keystore

Run = Callable[..., Result]
ROUND, WINDOW = 3600, 600


@pytest.mark.usefixtures("registered")
def test_claim_after_an_accepted_report(
    run_cli: Run,
    provider: LocalAccount,
    node_key: str,
    add_node: Callable[..., Result],
    make_pool: Callable[..., int],
    protocol: Protocol,
    hub: Any,
    admin: Any,
    project: Any,
    loranet_env: Path,
    password: str,
    assert_refusal: Callable[[Result, str], None],
) -> None:
    pool_id = make_pool()
    add_node()
    run_cli("devnet", "validate", "gpu-0", ok=True)
    run_cli("pool", "join", str(pool_id), "--node", "gpu-0", "--yes", ok=True)
    assert_refusal(run_cli("rewards", "claim"), "nothing to claim")

    run_cli("devnet", "advance", str(ROUND + 1), ok=True)  # round 0 ended: reports open
    node = Keystore(loranet_env / "node-keys", kind="node key").unlock("gpu-0", password)
    ledger = protocol.ledger
    report = {
        "poolId": pool_id,
        "round": 0,
        "node": node.address,
        "adapterHash": b"\xaa" * 32,
        "samples": 1024,
        "loss": 1_500_000,
        "artifactUri": "http://127.0.0.1:9/adapter",
        "executionMode": 0,
        "replayRoot": b"\xbb" * 32,
    }
    signature = sign_typed(
        node,
        domain=("loranet WorkLedger", "1"),
        chain_id=protocol.client.chain_id,
        verifying_contract=str(ledger.address),
        primary="WorkReport",
        fields=WORK_REPORT,
        message=report,
    ).signature
    submit = TxRequest.call(
        ledger, "submitReport", tuple(report.values()), bytes(signature), description="report"
    )
    TxSender(protocol.client, provider).send(submit)

    run_cli("devnet", "advance", str(WINDOW), ok=True)  # submissions closed: attest
    work_ledger = project.WorkLedger.at(ledger.address)
    work_ledger.attest(pool_id, 0, 1, b"\xcc" * 32, sender=admin)
    work_ledger.finalize(pool_id, 0, sender=admin)

    shown = json.loads(run_cli("rewards", "show", "--json", ok=True).stdout)
    assert int(shown["pending_rewards"]) == 100 * LORA
    before = protocol.provider(provider.address).lora
    claimed = json.loads(run_cli("rewards", "claim", "--yes", "--json", ok=True).stdout)
    assert int(claimed["claimed"]) == 100 * LORA
    assert protocol.provider(provider.address).lora == before + 100 * LORA
    assert "can claim 0 LORA" in run_cli("rewards", "show", ok=True).output
