"""EIP-712 signatures the protocol checks: node keys (AddNode, JoinPool, WorkReport) and
ERC-2612 permits.

Type strings are copied from the contracts (``ComputeRegistry.ADD_NODE_TYPEHASH``,
``ComputePool.JOIN_POOL_TYPEHASH``, ``WorkLedger.WORK_REPORT_TYPEHASH``); ``tests/offchain``
checks them against the deployed type hashes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from offchain.errors import LoranetError

ADD_NODE_TYPE = [
    {"name": "provider", "type": "address"},
    {"name": "node", "type": "address"},
    {"name": "computeUnits", "type": "uint32"},
    {"name": "specsHash", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
JOIN_POOL_TYPE = [
    {"name": "poolId", "type": "uint256"},
    {"name": "node", "type": "address"},
    {"name": "provider", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
WORK_REPORT_TYPE = [
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
PERMIT_TYPE = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
REGISTRY_DOMAIN = ("loranet ComputeRegistry", "1")
POOL_DOMAIN = ("loranet ComputePool", "1")
LEDGER_DOMAIN = ("loranet WorkLedger", "1")


class SpecsFileError(LoranetError):
    """The node specs file cannot be read."""


@dataclass(frozen=True)
class Permit:
    """An ERC-2612 permit signature, split as ``permit(..., v, r, s)`` takes it."""

    deadline: int
    v: int
    r: bytes
    s: bytes


def type_string(primary: str, fields: list[dict[str, str]]) -> str:
    """``Name(type name,...)`` as Solidity hashes it (no nested structs here)."""
    members = ",".join(field["type"] + " " + field["name"] for field in fields)
    return f"{primary}({members})"


def type_hash(primary: str, fields: list[dict[str, str]]) -> bytes:
    return keccak(text=type_string(primary, fields))


def sign_typed(
    account: LocalAccount,
    *,
    domain: tuple[str, str],
    chain_id: int,
    verifying_contract: str,
    primary: str,
    fields: list[dict[str, str]],
    message: dict[str, Any],
) -> Any:
    """Sign one EIP-712 message; returns eth-account's ``SignedMessage``."""
    name, version = domain
    signable = encode_typed_data(
        full_message={
            "types": {"EIP712Domain": DOMAIN_TYPE, primary: fields},
            "primaryType": primary,
            "domain": {
                "name": name,
                "version": version,
                "chainId": chain_id,
                "verifyingContract": verifying_contract,
            },
            "message": message,
        }
    )
    return account.sign_message(signable)


def sign_add_node(
    node_key: LocalAccount,
    *,
    chain_id: int,
    registry: str,
    provider: str,
    compute_units: int,
    specs_hash: bytes,
    nonce: int,
    deadline: int,
) -> bytes:
    """The node key's consent to be added to ``provider`` with these units and specs."""
    signed = sign_typed(
        node_key,
        domain=REGISTRY_DOMAIN,
        chain_id=chain_id,
        verifying_contract=registry,
        primary="AddNode",
        fields=ADD_NODE_TYPE,
        message={
            "provider": provider,
            "node": node_key.address,
            "computeUnits": compute_units,
            "specsHash": specs_hash,
            "nonce": nonce,
            "deadline": deadline,
        },
    )
    return bytes(signed.signature)


def sign_work_report(
    node_key: LocalAccount, message: dict[str, Any], *, chain_id: int, ledger: str
) -> bytes:
    """The node key's signature of a ``WorkReport`` (``message`` keyed by the type's fields)."""
    signed = sign_typed(
        node_key,
        domain=LEDGER_DOMAIN,
        chain_id=chain_id,
        verifying_contract=ledger,
        primary="WorkReport",
        fields=WORK_REPORT_TYPE,
        message=message,
    )
    return bytes(signed.signature)


def sign_join_pool(
    node_key: LocalAccount,
    *,
    chain_id: int,
    pool_contract: str,
    pool_id: int,
    provider: str,
    nonce: int,
    deadline: int,
) -> bytes:
    """The node key's consent to join ``pool_id`` for ``provider``."""
    signed = sign_typed(
        node_key,
        domain=POOL_DOMAIN,
        chain_id=chain_id,
        verifying_contract=pool_contract,
        primary="JoinPool",
        fields=JOIN_POOL_TYPE,
        message={
            "poolId": pool_id,
            "node": node_key.address,
            "provider": provider,
            "nonce": nonce,
            "deadline": deadline,
        },
    )
    return bytes(signed.signature)


def sign_permit(
    owner: LocalAccount,
    *,
    token_domain: tuple[str, str],
    chain_id: int,
    token: str,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
) -> Permit:
    """An ERC-2612 permit letting ``spender`` pull ``value`` from ``owner``."""
    signed = sign_typed(
        owner,
        domain=token_domain,
        chain_id=chain_id,
        verifying_contract=token,
        primary="Permit",
        fields=PERMIT_TYPE,
        message={
            "owner": owner.address,
            "spender": spender,
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    )
    return Permit(
        deadline=deadline,
        v=int(signed.v),
        r=int(signed.r).to_bytes(32, "big"),
        s=int(signed.s).to_bytes(32, "big"),
    )


def specs_hash(path: Path) -> bytes:
    """keccak256 of a node's hardware specs file; JSON is canonicalized first (sorted keys,
    no spaces) so that formatting does not change the hash."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SpecsFileError(f"cannot read the specs file {path}: {err.strerror}.") from None
    if path.suffix.lower() == ".json":
        try:
            raw = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SpecsFileError(f"the specs file {path} is not valid JSON.") from None
    return keccak(raw)
