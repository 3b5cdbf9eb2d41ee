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

TOKEN = 10**18
ROUND = 600
WINDOW = 300
CHALLENGE = 600
UNBONDING = 3600
BASE_STAKE = 1_000 * TOKEN
PER_UNIT = 10 * TOKEN
REWARD = 1_000 * TOKEN
FUND = 100_000 * TOKEN
SLASH_BPS = 1_000
DEADLINE = 2**63  # far future
ZERO = b"\x00" * 32

# EIP-712 types, in the contracts' field order (docs/protocol.md).
ADD_NODE_TYPES = [
    {"name": "provider", "type": "address"},
    {"name": "node", "type": "address"},
    {"name": "computeUnits", "type": "uint32"},
    {"name": "specsHash", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
JOIN_POOL_TYPES = [
    {"name": "poolId", "type": "uint256"},
    {"name": "node", "type": "address"},
    {"name": "provider", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
WORK_REPORT_TYPES = [
    {"name": "poolId", "type": "uint256"},
    {"name": "round", "type": "uint256"},
    {"name": "node", "type": "address"},
    {"name": "adapterHash", "type": "bytes32"},
    {"name": "samples", "type": "uint256"},
    {"name": "loss", "type": "uint256"},
    {"name": "artifactUri", "type": "string"},
    {"name": "executionMode", "type": "uint8"},
    {"name": "replayRoot", "type": "bytes32"},
]


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
