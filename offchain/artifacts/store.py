"""The one interface of every artifact store, and the reference a ``put`` returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ArtifactRef:
    """A stored artifact: where others read it, its hash (``0x`` + 64 hex), its size."""

    uri: str
    sha256: str
    size: int

    def as_dict(self) -> dict[str, object]:
        return {"uri": self.uri, "sha256": self.sha256, "size": self.size}


@runtime_checkable
class ArtifactStore(Protocol):
    """Content-addressed: an artifact is kept under its SHA-256 and nothing else.

    ``put`` is idempotent (storing the same bytes twice is a no-op) and atomic (a crash
    leaves either nothing or the complete object under its hash).
    """

    #: ``local``, ``http`` or ``s3``.
    kind: str

    def put(self, path: Path) -> ArtifactRef:
        """Store a file's bytes; return its public reference."""
        ...

    def put_bytes(self, data: bytes) -> ArtifactRef:
        """Store bytes; return their public reference."""
        ...

    def uri_for(self, digest: str) -> str:
        """The public URI of the artifact with ``digest`` (whether or not it is stored)."""
        ...

    def has(self, digest: str) -> bool:
        """Whether the artifact with ``digest`` is stored."""
        ...
