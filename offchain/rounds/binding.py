"""Node address <-> hivemind peer, provable by anyone reading the pool's DHT.

hivemind publishes each peer's progress under ``<run_id>_progress`` with the subkey
``[owner:<RSA public key>]``: the DHT only keeps such a record when it is signed by that RSA
key (``RSASignatureValidator``). A training node stores, under ``<run_id>_nodes`` and the same
owner subkey (so signed by the same process-wide RSA key), ``{"node": address, "signature":
...}`` where the signature is the node key's EIP-191 signature of
``"loranet hivemind peer\\n<run_id>\\n<sha256 of the owner subkey>"``.

A reader (the validator) thus links a progress record to a node address through two
signatures: the RSA one proves both records come from the same peer, the node key's proves
the node claims that peer. Nobody can claim another node's progress: storing under a peer's
subkey needs that peer's RSA key, and the endorsement needs the node key.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

logger = logging.getLogger(__name__)

NODES_SUFFIX = "_nodes"
PROGRESS_SUFFIX = "_progress"


def endorsement_text(run_id: str, owner: bytes) -> str:
    return f"loranet hivemind peer\n{run_id}\n{hashlib.sha256(owner).hexdigest()}"


def sign_endorsement(node_key: LocalAccount, run_id: str, owner: bytes) -> str:
    message = encode_defunct(text=endorsement_text(run_id, owner))
    return "0x" + bytes(node_key.sign_message(message).signature).hex()


def endorsed_node(run_id: str, owner: bytes, value: Any) -> str | None:
    """The node address that endorsed ``owner`` in a ``_nodes`` record, if the signature holds."""
    if not isinstance(value, dict):
        return None
    node, signature = value.get("node"), value.get("signature")
    if not isinstance(node, str) or not isinstance(signature, str):
        return None
    try:
        message = encode_defunct(text=endorsement_text(run_id, owner))
        signer = Account.recover_message(message, signature=signature)
    except Exception:  # malformed signature: not an endorsement
        return None
    return signer.lower() if signer.lower() == node.lower() else None


def announce_node(dht: Any, run_id: str, node_key: LocalAccount, *, ttl_s: float) -> bool:
    """Store this process's peer <-> ``node_key`` endorsement in the run's DHT.

    ``dht`` must carry an ``RSASignatureValidator`` (``trainer.collab.create_dht(...,
    read_progress=True)``): it signs the record with the process-wide key that also signs
    hivemind's progress records.
    """
    from hivemind.dht.crypto import RSASignatureValidator
    from hivemind.utils import get_dht_time

    owner = RSASignatureValidator().local_public_key
    value = {"node": node_key.address, "signature": sign_endorsement(node_key, run_id, owner)}
    stored = bool(
        dht.store(
            run_id + NODES_SUFFIX,
            subkey=owner,
            value=value,
            expiration_time=get_dht_time() + ttl_s,
        )
    )
    logger.info("announced node %s in run %s stored=%s", node_key.address, run_id, stored)
    return stored


@dataclass(frozen=True)
class NodeProgress:
    """Progress of one endorsed peer: its node, hivemind epoch and samples in that epoch."""

    node: str
    epoch: int
    samples: int


def _owner(subkey: Any) -> bytes | None:
    return subkey if isinstance(subkey, bytes) and subkey.startswith(b"[owner:") else None


def read_node_progress(dht: Any, run_id: str) -> list[NodeProgress]:
    """The current progress record of every peer of ``run_id`` endorsed by a node key.

    ``dht`` must be created with ``read_progress=True`` (signature validator).
    """
    nodes_found = dht.get(run_id + NODES_SUFFIX, latest=True)
    progress_found = dht.get(run_id + PROGRESS_SUFFIX, latest=True)
    if nodes_found is None or progress_found is None:
        return []
    if not isinstance(nodes_found.value, dict) or not isinstance(progress_found.value, dict):
        return []
    nodes: dict[bytes, str] = {}
    for subkey, entry in nodes_found.value.items():
        owner = _owner(subkey)
        node = endorsed_node(run_id, owner, getattr(entry, "value", None)) if owner else None
        if owner is not None and node is not None:
            nodes[owner] = node
    out = []
    for subkey, entry in progress_found.value.items():
        owner = _owner(subkey)
        value = getattr(entry, "value", None)
        if owner is None or owner not in nodes or not isinstance(value, dict):
            continue
        if value.get("client_mode"):
            continue
        out.append(
            NodeProgress(
                node=nodes[owner],
                epoch=int(value["epoch"]),
                samples=int(value["samples_accumulated"]),
            )
        )
    return out
