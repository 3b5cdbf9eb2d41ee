"""Errors of pool discovery (each message is one sentence)."""

from __future__ import annotations

from offchain.errors import LoranetError


class PoolDiscoveryError(LoranetError):
    """Something a node needs about its pool cannot be learned from the chain."""


class MetadataError(PoolDiscoveryError):
    """A pool's metadata document cannot be read or is invalid."""


class NotARoundMemberError(PoolDiscoveryError):
    """The node is not among a round's members (it joined after the round started, or left)."""
