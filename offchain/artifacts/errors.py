"""Errors of the artifact stores, split by what the reader should conclude from them.

* :class:`ArtifactUnavailableError` — the bytes could not be had (network, timeout, HTTP
  status, missing object, over the size limit): nothing is known about the publisher's
  honesty, so a validator retries and then abstains; it never rejects on this.
* :class:`ArtifactHashMismatchError` — bytes were fetched completely and hash to something
  else: the publisher serves bytes it did not report. This one is evidence.
* :class:`ArtifactURIError` — the URI itself is unusable (unknown scheme, malformed, or a
  local ``file://`` URI on a chain that is not local).
"""

from __future__ import annotations

from offchain.errors import LoranetError


class ArtifactError(LoranetError):
    """Base of every artifact store error; the message is one readable sentence."""


class ArtifactURIError(ArtifactError):
    """The URI cannot be used here (scheme, form, or ``file://`` off a local chain)."""


class ArtifactUnavailableError(ArtifactError):
    """The artifact could not be fetched (retried already); says nothing about its publisher."""

    transient = True  # the store may answer later


class ArtifactUploadError(ArtifactError):
    """The store did not take an artifact (unreachable, refused); nothing was stored."""

    transient = True


class ArtifactTooLargeError(ArtifactUnavailableError):
    """The artifact is larger than this reader's size limit (a local policy, not evidence)."""

    transient = False  # the same artifact stays too large


class ArtifactHashMismatchError(ArtifactError):
    """The fetched bytes hash to another value than the expected one."""

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual
