"""A SHA-256 Merkle tree over replay records, in the shape of RFC 6962 / RFC 9162.

* leaf hash: ``sha256(0x00 || leaf bytes)``; inner node: ``sha256(0x01 || left || right)``
  (the prefixes keep a leaf from posing as an inner node);
* an odd tree is split at the largest power of two below its size (no duplicated last
  leaf, so no CVE-2012-2459 style second preimage);
* leaves are the records in step order (:meth:`ReplayRecord.leaf_bytes`);
* a proof is the RFC 9162 audit path: sibling hashes from the leaf up to the root.
The root of an empty list is ``sha256(b"")``. Roots and hashes are shown as ``0x`` hex.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

logger = logging.getLogger(__name__)


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _root(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_root(hashes[:k]), _root(hashes[k:]))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Root over the leaf byte strings."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return _root([leaf_hash(leaf) for leaf in leaves])


def _path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*_path(index, hashes[:k]), _root(hashes[k:])]
    return [*_path(index - k, hashes[k:]), _root(hashes[:k])]


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path of leaf ``index``."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is outside 0..{len(leaves) - 1}")
    return _path(index, [leaf_hash(leaf) for leaf in leaves])


def _root_from_path(index: int, size: int, node: bytes, path: Sequence[bytes]) -> bytes | None:
    if size == 1:
        return node if not path else None
    if not path:
        return None
    k = _split(size)
    sibling, rest = path[-1], path[:-1]
    if index < k:
        left = _root_from_path(index, k, node, rest)
        return None if left is None else node_hash(left, sibling)
    right = _root_from_path(index - k, size - k, node, rest)
    return None if right is None else node_hash(sibling, right)


def verify_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """True when ``leaf`` is leaf ``index`` of a ``size``-leaf tree with ``root``."""
    if not 0 <= index < size:
        return False
    return _root_from_path(index, size, leaf_hash(leaf), list(proof)) == root
