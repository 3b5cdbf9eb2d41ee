"""A scripted network on a local chain (anvil), for the dashboard's tests, screenshots and
benchmark: providers, nodes, a pool and finalized rounds with accepted and rejected reports.

Everything goes through real transactions from the CLI's ``TxSender`` and the CLI's
``ProviderActions`` (registration, nodes, joins, claims, unbonds); reports, attestations and
finalizations are signed the way the worker and validator sign them. Time moves with
``evm_increaseTime``, so only a local chain with the dev accounts will do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import RPCEndpoint

from offchain.chain.client import ChainClient
from offchain.chain.protocol import Protocol
from offchain.chain.provider import ProviderActions
from offchain.chain.signing import LEDGER_DOMAIN, WORK_REPORT_TYPE, sign_typed
from offchain.chain.tx import TxRequest, TxSender
from offchain.chain.units import ONE
from offchain.devnet import dev_account
from offchain.logging import kv

logger = logging.getLogger(__name__)

ROUND_LENGTH = 3600
WINDOW = 600
LOSS_SCALE = 1_000_000
CHEAT_ROUND = 1  # the cheater's report of this round is rejected (and its node ejected)


@dataclass
class Scenario:
    """What :func:`build_network` made: ids and keys the tests look for."""

    pool_id: int
    providers: list[LocalAccount]
    nodes: list[LocalAccount]
    validators: list[LocalAccount]
    rounds: int
    cheater: int  # index of the provider whose report of CHEAT_ROUND is rejected
    artifact_hashes: list[str] = field(default_factory=list)


def node_key(index: int) -> LocalAccount:
    """A deterministic node key (never a dev account: node keys hold nothing)."""
    return Account.from_key(Web3.keccak(text=f"loranet web scenario node {index}"))


def advance(client: ChainClient, seconds: int) -> int:
    client.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
    client.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    return int(client.w3.eth.get_block("latest")["timestamp"])


def _send(client: ChainClient, who: LocalAccount, contract: Any, fn: str, *args: Any) -> None:
    TxSender(client, who).send(TxRequest.call(contract, fn, *args, description=fn))


def setup_network(
    client: ChainClient,
    *,
    providers: int = 3,
    validators: int = 2,
    stake: int = 2_000,
    units: int = 10,
    reward: int = 100,
) -> Scenario:
    """Providers with one validated node each in a started pool; quorum = ``validators``."""
    protocol = Protocol(client)
    admin = dev_account(0)
    hub = protocol.hub
    vals = [admin] + [dev_account(9 - i) for i in range(validators - 1)]
    role = hub.functions.VALIDATOR_ROLE().call()
    for val in vals[1:]:
        _send(client, admin, hub, "grantRole", role, val.address)
    domains = client.contract("DomainRegistry")
    domain_id = int(client.deployment.domains.get("lora-finetune", 1))
    policy = list(domains.functions.policyOf(domain_id).call())
    policy[0] = validators  # quorum
    _send(client, admin, hub, "updateDomain", domain_id, tuple(policy))
    params = (
        domain_id,
        Web3.keccak(text="tiny-llama"),
        "builtin://tiny-llama",
        Web3.keccak(text="arith"),
        "builtin://arith",
        "{}",
        ROUND_LENGTH,
        WINDOW,
        reward * ONE,
        8,
        1,
    )
    budget = 100 * reward * ONE  # the creator escrows 100 rounds of rewards
    ledger = client.contract("WorkLedger")
    _send(client, admin, client.contract("LoraToken"), "approve", ledger.address, budget)
    _send(client, admin, hub, "createPool", params, budget, 0, 0, b"\x00" * 32, b"\x00" * 32)
    pool_id = protocol.pool_count()
    provs = [dev_account(1 + i) for i in range(providers)]
    nodes = [node_key(i) for i in range(providers)]
    for prov, node in zip(provs, nodes, strict=True):
        actions = ProviderActions(protocol, TxSender(client, prov))
        actions.register(stake * ONE)
        actions.add_node(node, units=units, specs_hash=Web3.keccak(text="specs"))
        _send(client, admin, hub, "setNodeValidated", node.address, True)
        actions.join_pool(pool_id, node)
    _send(client, admin, hub, "startPool", pool_id)
    logger.info("scenario network ready", extra=kv(pool_id=pool_id, providers=providers))
    return Scenario(pool_id, provs, nodes, vals, 0, cheater=providers - 1)


def play_rounds(client: ChainClient, scenario: Scenario, count: int) -> None:
    """``count`` more rounds: every member node reports; in round ``CHEAT_ROUND`` the
    cheater's report is rejected by all validators (slashed), the others are accepted; then
    the round is finalized."""
    protocol = Protocol(client)
    ledger = protocol.ledger
    pool = protocol.pool(scenario.pool_id)
    for _ in range(count):
        r = scenario.rounds
        end = pool.start_time + (r + 1) * pool.round_length
        now = int(client.w3.eth.get_block("latest")["timestamp"])
        if now < end:
            advance(client, end - now)
        reported: list[int] = []
        bitmap_bits: list[int] = []
        for i, (prov, node) in enumerate(zip(scenario.providers, scenario.nodes, strict=True)):
            if int(protocol.pools.functions.membershipOf(node.address).call()[0]) != pool.id:
                continue  # ejected after a rejected report
            digest = Web3.keccak(text=f"adapter {scenario.pool_id} {r} {i}")
            loss = int((2.5 / (1 + 0.35 * r) + 0.05 * i) * LOSS_SCALE)
            cheats = i == scenario.cheater and r == CHEAT_ROUND
            if cheats:
                loss = int(4.0 * LOSS_SCALE)
            report = {
                "poolId": scenario.pool_id,
                "round": r,
                "node": node.address,
                "adapterHash": bytes(digest),
                "samples": 512 + 64 * i,
                "loss": loss,
                "artifactUri": f"http://127.0.0.1:9/artifacts/0x{bytes(digest).hex()}",
                "executionMode": 0,
                "replayRoot": bytes(Web3.keccak(text=f"replay {r} {i}")),
            }
            signature = sign_typed(
                node,
                domain=LEDGER_DOMAIN,
                chain_id=client.chain_id,
                verifying_contract=str(ledger.address),
                primary="WorkReport",
                fields=WORK_REPORT_TYPE,
                message=report,
            ).signature
            _send(client, prov, ledger, "submitReport", tuple(report.values()), bytes(signature))
            scenario.artifact_hashes.append("0x" + bytes(digest).hex())
            if not cheats:
                reported_ok = len(reported)
                bitmap_bits.append(reported_ok)
            reported.append(i)
        advance(client, pool.submission_window)
        bitmap = sum(1 << b for b in bitmap_bits)
        next_hash = Web3.keccak(text=f"base {scenario.pool_id} {r + 1}")
        for val in scenario.validators:
            _send(client, val, ledger, "attest", scenario.pool_id, r, bitmap, next_hash)
        _send(client, scenario.validators[0], ledger, "finalize", scenario.pool_id, r)
        scenario.rounds += 1
    logger.info("scenario rounds played", extra=kv(rounds=scenario.rounds))


def settle(client: ChainClient, scenario: Scenario) -> None:
    """The first provider claims its rewards; the second unbonds 100 LORA."""
    protocol = Protocol(client)
    ProviderActions(protocol, TxSender(client, scenario.providers[0])).claim()
    ProviderActions(protocol, TxSender(client, scenario.providers[1])).unbond(100 * ONE)


def build_network(client: ChainClient, *, rounds: int = 3) -> Scenario:
    scenario = setup_network(client)
    play_rounds(client, scenario, rounds)
    settle(client, scenario)
    return scenario
