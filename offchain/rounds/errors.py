"""Errors of the round protocol shared by nodes and validators."""

from __future__ import annotations

from offchain.errors import LoranetError


class RoundError(LoranetError):
    """A round's inputs or state are not what the work needs (configuration, missing state)."""


class FetchError(RoundError):
    """An artifact could not be fetched from its URI."""


class ArtifactUnavailable(FetchError):
    """An artifact could not be fetched (network, timeout, missing, over this validator's size
    limit): not evidence against the node; the validator abstains instead of rejecting."""


class SoloRoundError(RoundError):
    """A node trained a multi-node round alone (no all-reduce found a partner): it does not
    report that round as collaborative work."""
