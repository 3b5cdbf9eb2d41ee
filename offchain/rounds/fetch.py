"""Fetch a report's artifacts by URI and hash (:mod:`offchain.artifacts`), as validator errors.

Every fetch is hash-checked, size- and time-bounded and retried (:class:`Fetcher`). The two
outcomes a validator must tell apart become two errors:

* :class:`~offchain.rounds.errors.ArtifactUnavailable` — the bytes could not be had: says
  nothing about the node (its store may be down, this validator's network may be): the
  validator abstains, it never rejects on this;
* :class:`~offchain.rounds.errors.FetchError` (any other) — the URI is unusable or the
  bytes fetched hash to something else: the node reported what it does not serve.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from offchain.artifacts import (
    ArtifactHashMismatchError,
    ArtifactUnavailableError,
    ArtifactURIError,
    Fetcher,
)
from offchain.artifacts import sibling as sibling_uri
from offchain.rounds.errors import ArtifactUnavailable, FetchError

logger = logging.getLogger(__name__)

__all__ = ["as_fetcher", "fetch", "local_path", "sibling_uri"]


def local_path(uri: str) -> Path | None:
    """The local file a path or ``file://`` URI names; ``None`` for remote URIs."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(uri)
    return None


def as_fetcher(source: Fetcher | Path) -> Fetcher:
    """A fetcher, or a default one over a cache folder (local files allowed: tests, devnet)."""
    if isinstance(source, Fetcher):
        return source
    return Fetcher(cache_dir=Path(source), local_ok=True)


def fetch(uri: str, sha256: str, source: Fetcher | Path) -> Path:
    """The verified local file of artifact ``sha256`` at ``uri``.

    Raises :class:`ArtifactUnavailable` (no verdict possible) or :class:`FetchError` (the
    URI is unusable or the bytes do not hash to ``sha256``), each with one readable sentence.
    """
    try:
        return as_fetcher(source).fetch(uri, sha256)
    except ArtifactUnavailableError as err:
        raise ArtifactUnavailable(str(err)) from None
    except (ArtifactHashMismatchError, ArtifactURIError) as err:
        raise FetchError(str(err)) from None
