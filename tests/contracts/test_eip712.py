"""The EIP-712 domains and type hashes are exactly those documented in docs/protocol.md (what
the Python worker and CLI sign with eth-account)."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from loranet_testkit import ADD_NODE_TYPES, JOIN_POOL_TYPES, WORK_REPORT_TYPES

TYPE_STRINGS = {
    "AddNode": (
        "AddNode(address provider,address node,uint32 computeUnits,bytes32 specsHash,"
        "uint256 nonce,uint256 deadline)"
    ),
    "JoinPool": (
        "JoinPool(uint256 poolId,address node,address provider,uint256 nonce,uint256 deadline)"
    ),
    "WorkReport": (
        "WorkReport(uint256 poolId,uint256 round,address node,bytes32 adapterHash,uint256 samples,"
        "uint256 loss,string artifactUri,uint8 executionMode,bytes32 replayRoot)"
    ),
}


def _type_string(name: str, fields: list[dict[str, str]]) -> str:
    return f"{name}(" + ",".join(f"{f['type']} {f['name']}" for f in fields) + ")"


def test_type_hashes_match_documented_strings(protocol):
    assert protocol.registry.ADD_NODE_TYPEHASH() == keccak(text=TYPE_STRINGS["AddNode"])
    assert protocol.pools.JOIN_POOL_TYPEHASH() == keccak(text=TYPE_STRINGS["JoinPool"])
    assert protocol.ledger.WORK_REPORT_TYPEHASH() == keccak(text=TYPE_STRINGS["WorkReport"])


@pytest.mark.parametrize(
    ("name", "fields"),
    [("AddNode", ADD_NODE_TYPES), ("JoinPool", JOIN_POOL_TYPES), ("WorkReport", WORK_REPORT_TYPES)],
)
def test_test_signer_uses_the_documented_field_order(name, fields):
    assert _type_string(name, fields) == TYPE_STRINGS[name]


@pytest.mark.parametrize(
    ("attr", "name"),
    [
        ("registry", "loranet ComputeRegistry"),
        ("pools", "loranet ComputePool"),
        ("ledger", "loranet WorkLedger"),
    ],
)
def test_domains(protocol, chain, attr, name):
    contract = getattr(protocol, attr)
    domain = contract.eip712Domain()
    assert domain.name == name and domain.version == "1"
    assert domain.chainId == chain.chain_id and domain.verifyingContract == contract.address


def test_limits(protocol):
    assert protocol.pools.MAX_NODES() == 256
    assert protocol.ledger.MAX_REPORTS() == 256
    assert protocol.stake.MAX_PENDING_UNBONDS() == 16
