"""Constants and helpers of the contract tests (imported by conftest.py and the test modules).

Timings are short test values; EIP-712 types are in the contracts' field order
(docs/protocol.md). `Signer` signs like the Python worker: `eth_account.Account.sign_typed_data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from offchain.chain.signing import (
    ADD_NODE_TYPE,
    JOIN_POOL_TYPE,
    PERMIT_TYPE,
    WORK_REPORT_TYPE,
    sign_typed,
)

TOKEN = 10**18
ROUND = 600
WINDOW = 300
CHALLENGE = 600
UNBONDING = 3600
BASE_STAKE = 1_000 * TOKEN
PER_UNIT = 10 * TOKEN
REWARD = 1_000 * TOKEN
BUDGET = 10 * REWARD  # escrowed by the creator at createPool
FUND = 100_000 * TOKEN
SLASH_BPS = 1_000
DEADLINE = 2**63  # far future
ZERO = b"\x00" * 32

# EIP-712 types, in the contracts' field order (docs/protocol.md): the ones the Python
# services sign with, so these tests also pin them against the contracts' type hashes.
ADD_NODE_TYPES = ADD_NODE_TYPE
JOIN_POOL_TYPES = JOIN_POOL_TYPE
WORK_REPORT_TYPES = WORK_REPORT_TYPE


def permit_vrs(
    token: Any,
    *,
    owner: str,
    spender: str,
    value: int,
    deadline: int,
    signer_key: Any,
    chain_id: int,
) -> tuple[int, bytes, bytes]:
    """ERC-2612 permit ``(v, r, s)`` for ``owner``, signed with ``signer_key`` (normally the
    owner's key; another key or chain id makes the adversarial cases)."""
    signed = sign_typed(
        Account.from_key(signer_key),
        domain=(token.name(), "1"),
        chain_id=chain_id,
        verifying_contract=str(token.address),
        primary="Permit",
        fields=PERMIT_TYPE,
        message={
            "owner": str(owner),
            "spender": str(spender),
            "value": value,
            "nonce": token.nonces(owner),
            "deadline": deadline,
        },
    )
    return int(signed.v), int(signed.r).to_bytes(32, "big"), int(signed.s).to_bytes(32, "big")


@dataclass
class Signer:
    """Signs the protocol's EIP-712 messages with node keys, as the Python worker does."""

    protocol: Any
    chain_id: int

    def _domain(self, name: str, contract: Any, chain_id: int | None) -> dict[str, Any]:
        return {
            "name": name,
            "version": "1",
            "chainId": self.chain_id if chain_id is None else chain_id,
            "verifyingContract": contract.address,
        }

    def add_node(
        self,
        key: LocalAccount,
        provider: Any,
        units: int,
        *,
        specs: bytes = ZERO,
        deadline: int = DEADLINE,
        nonce: int | None = None,
        chain_id: int | None = None,
        contract: Any = None,
    ) -> bytes:
        registry = contract or self.protocol.registry
        message = {
            "provider": getattr(provider, "address", provider),
            "node": key.address,
            "computeUnits": units,
            "specsHash": specs,
            "nonce": registry.nonces(key.address) if nonce is None else nonce,
            "deadline": deadline,
        }
        signed = Account.sign_typed_data(
            key.key,
            domain_data=self._domain("loranet ComputeRegistry", registry, chain_id),
            message_types={"AddNode": ADD_NODE_TYPES},
            message_data=message,
        )
        return bytes(signed.signature)

    def join(
        self,
        key: LocalAccount,
        pool_id: int,
        provider: Any,
        *,
        deadline: int = DEADLINE,
        nonce: int | None = None,
        chain_id: int | None = None,
    ) -> bytes:
        pools = self.protocol.pools
        message = {
            "poolId": pool_id,
            "node": key.address,
            "provider": getattr(provider, "address", provider),
            "nonce": pools.nonces(key.address) if nonce is None else nonce,
            "deadline": deadline,
        }
        signed = Account.sign_typed_data(
            key.key,
            domain_data=self._domain("loranet ComputePool", pools, chain_id),
            message_types={"JoinPool": JOIN_POOL_TYPES},
            message_data=message,
        )
        return bytes(signed.signature)

    def report(self, key: LocalAccount, report: tuple, *, chain_id: int | None = None) -> bytes:
        names = [t["name"] for t in WORK_REPORT_TYPES]
        signed = Account.sign_typed_data(
            key.key,
            domain_data=self._domain("loranet WorkLedger", self.protocol.ledger, chain_id),
            message_types={"WorkReport": WORK_REPORT_TYPES},
            message_data=dict(zip(names, report, strict=True)),
        )
        return bytes(signed.signature)


def make_report(
    pool_id: int,
    round_: int,
    node: Any,
    *,
    samples: int = 1_000,
    mode: int = 0,
    loss: int = 2_500_000,
    adapter: bytes | None = None,
    uri: str = "file:///artifacts/adapter.safetensors",
    replay_root: bytes | None = None,
) -> tuple:
    """A WorkReport tuple in the contract's field order."""
    address = getattr(node, "address", node)
    return (
        pool_id,
        round_,
        address,
        adapter or keccak(text=f"adapter-{pool_id}-{round_}-{address}"),
        samples,
        loss,
        uri,
        mode,
        replay_root or keccak(text=f"replay-{address}"),
    )


def register(protocol, provider, amount: int = 5_000 * TOKEN) -> None:
    protocol.token.approve(protocol.stake, amount, sender=provider)
    protocol.hub.registerProvider(amount, 0, 0, ZERO, ZERO, sender=provider)


def create_pool(protocol, creator, *, budget: int = BUDGET, **overrides: Any) -> Any:
    """``hub.createPool`` with the creator's ``budget`` escrowed (approve, then one call)."""
    if budget:
        protocol.token.approve(protocol.ledger, budget, sender=creator)
    return protocol.hub.createPool(
        pool_params(**overrides), budget, 0, 0, ZERO, ZERO, sender=creator
    )


def pool_params(domain_id: int = 1, **overrides: Any) -> tuple:
    """A PoolParams tuple (contract field order) with test defaults."""
    values = {
        "domainId": domain_id,
        "baseModelHash": keccak(text="base-model"),
        "baseModelUri": "hf://tiny-llama",
        "datasetHash": keccak(text="dataset"),
        "datasetUri": "file:///data/shards",
        "metadataUri": "ipfs://bootstrap-peers",
        "roundLength": ROUND,
        "submissionWindow": WINDOW,
        "rewardPerRound": REWARD,
        "maxNodes": 8,
        "minComputeUnits": 1,
    }
    values.update(overrides)
    return tuple(values.values())
