"""Errors of the validator (the round protocol's own are in :mod:`offchain.rounds.errors`)."""

from __future__ import annotations

from offchain.rounds.errors import ArtifactUnavailable, FetchError, RoundError, SoloRoundError

__all__ = ["ArtifactUnavailable", "FetchError", "RoundError", "SoloRoundError", "ValidatorError"]


class ValidatorError(RoundError):
    """The validator cannot do what was asked (configuration, missing state)."""
