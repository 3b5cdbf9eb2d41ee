"""Errors of the validator."""

from __future__ import annotations

from offchain.errors import LoranetError


class ValidatorError(LoranetError):
    """The validator cannot do what was asked (configuration, missing state)."""


class FetchError(ValidatorError):
    """An artifact could not be fetched from its URI."""


class ArtifactUnavailable(FetchError):
    """An artifact could not be fetched (network, timeout, missing, over this validator's size
    limit): not evidence against the node; the validator abstains instead of rejecting."""


class SoloRoundError(ValidatorError):
    """A node trained a multi-node round alone (no all-reduce found a partner): it does not
    report that round as collaborative work."""
