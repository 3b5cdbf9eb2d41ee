"""Devnet-only conveniences that stand in for other roles while trying loranet by hand.

On a local deployment, dev account 0 deployed everything and holds the admin, validator and
pool-creator roles (``scripts/deploy.py``). These helpers use it to validate a node, create a
demo pool and move the chain's clock; they refuse to run anywhere but a local anvil.
"""

from __future__ import annotations

import logging

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import RPCEndpoint

from offchain.chain.client import ChainClient
from offchain.chain.protocol import Protocol
from offchain.chain.tx import TxRequest, TxSender
from offchain.chain.units import ONE
from offchain.devnet import DEV_ACCOUNTS, DevnetError, dev_account, local_client
from offchain.logging import kv
from offchain.settings import Settings

logger = logging.getLogger(__name__)

DEMO_MODEL_URI = "builtin://tiny-llama"  # the built-in model: code, no artifact
DEMO_DATASET_URI = "builtin://arithmetic"


def _admin(client: ChainClient) -> LocalAccount:
    wanted = (client.deployment.deployer or "").lower()
    for index in range(DEV_ACCOUNTS):
        account = dev_account(index)
        if account.address.lower() == wanted:
            return account
    raise DevnetError(f"the deployer {client.deployment.deployer} is not a dev account.")


def validate_node(settings: Settings, node: str, *, valid: bool = True) -> str:
    """Mark ``node`` validated (as the dev validator, account 0); returns the tx hash."""
    client = local_client(settings)
    hub = client.contract("NetworkHub")
    address = Web3.to_checksum_address(node)
    request = TxRequest.call(
        hub, "setNodeValidated", address, valid, description=f"validate node {address}"
    )
    return TxSender(client, _admin(client)).send(request).tx_hash


def create_demo_pool(
    settings: Settings,
    *,
    max_nodes: int = 8,
    round_length: int = 600,
    reward: int = 100 * ONE,
    start: bool = True,
) -> int:
    """Create (and start) a pool in the ``lora-finetune`` domain; returns its id."""
    client = local_client(settings)
    hub = client.contract("NetworkHub")
    domain_id = int(client.deployment.domains.get("lora-finetune", 1))
    params = (
        domain_id,
        Web3.keccak(text=DEMO_MODEL_URI),
        DEMO_MODEL_URI,
        Web3.keccak(text=DEMO_DATASET_URI),
        DEMO_DATASET_URI,
        "{}",
        round_length,
        round_length // 2,
        reward,
        max_nodes,
        1,
    )
    sender = TxSender(client, _admin(client))
    ledger = client.contract("WorkLedger")
    token = client.contract("LoraToken")
    admin = _admin(client)
    # the creator escrows up to 100 rounds of rewards in the work ledger (what it holds, at most)
    budget = min(100 * reward, int(token.functions.balanceOf(admin.address).call()))
    sender.send(
        TxRequest.call(
            client.contract("LoraToken"),
            "approve",
            ledger.address,
            budget,
            description="approve the pool budget",
        )
    )
    zero = b"\x00" * 32
    sender.send(
        TxRequest.call(
            hub, "createPool", params, budget, 0, 0, zero, zero, description="create a demo pool"
        )
    )
    pool_id = Protocol(client).pool_count()
    if start:
        sender.send(TxRequest.call(hub, "startPool", pool_id, description=f"start pool {pool_id}"))
    logger.info("demo pool created", extra=kv(pool_id=pool_id))
    return pool_id


def advance_time(settings: Settings, seconds: int) -> int:
    """Move anvil's clock forward and mine a block; returns the new block timestamp."""
    client = local_client(settings)
    client.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
    client.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    return int(client.w3.eth.get_block("latest")["timestamp"])
