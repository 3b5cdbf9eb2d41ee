"""Errors the trainer raises on purpose. Each message is a full sentence a user can act on."""

from __future__ import annotations

from offchain.errors import LoranetError


class TrainerError(LoranetError):
    """Base of every trainer error."""


class TrainerConfigError(TrainerError):
    """A setting is missing or inconsistent (for example a pretrained source without a path)."""


class ArtifactError(TrainerError):
    """An adapter artifact is missing, unreadable or does not match its hash."""


class ArtifactNotFoundError(ArtifactError):
    """The artifact store has no artifact with the requested hash."""


class ArtifactHashMismatchError(ArtifactError):
    """The bytes read back do not hash to the hash they were stored under."""


class InferenceError(TrainerError):
    """Generation could not run (prompt too long, bad sampling settings)."""


class PromptTooLongError(InferenceError):
    """The prompt does not fit the model's context window."""


class BarrierTimeoutError(TrainerError):
    """Not enough peers joined the training run before the barrier timed out."""


class ReplayError(TrainerError):
    """A replay record or proof is malformed (wrong step, bad projection size)."""


class PrecisionUnavailableError(TrainerConfigError):
    """This machine cannot run the model in the precision the pool fixes (4/8-bit without a
    CUDA GPU or without bitsandbytes, fp16 without a GPU)."""


class DataFormatError(TrainerConfigError):
    """A data file or folder is missing, empty or has records of no known shape."""


class ContentHashError(TrainerError):
    """A model folder or data set does not hash to the hash it is expected to have."""


class PeerUnreachableError(TrainerError):
    """The hivemind DHT could not start or reach any of its bootstrap peers."""
