"""Artifact URIs: which schemes exist, where each may be used, and the companion fragment.

An artifact URI names bytes by location; its hash always travels beside it (a report's
``adapterHash``, a pool's model hash) and the reader checks it. Forms:

* ``http(s)://host/any/path`` — any HTTP server; a worker's own server answers
  ``/artifacts/<sha256 hex>``;
* ``s3://bucket/key`` — any S3-compatible store (the endpoint comes from the reader's settings);
* ``file:///abs/path`` or a plain path — only on a local chain (chain id 31337/1337 or network
  ``local``): on any other chain no other machine could read it, so it is refused for writing
  and for reading.

A URI may carry companions in its fragment (never sent to a server):
``https://node/artifacts/<adapter hex>#replay=<bundle hex>`` names the node's replay bundle by
hash; it lives next to the artifact (same folder/prefix, named by its hash).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from offchain.artifacts.digest import hex_of
from offchain.artifacts.errors import ArtifactURIError

LOCAL_CHAIN_IDS = frozenset({31337, 1337})
LOCAL_NETWORK = "local"
REMOTE_SCHEMES = ("http", "https", "s3")
SCHEMES = ("file", *REMOTE_SCHEMES)


def is_local_chain(chain_id: int | None = None, network: str | None = None) -> bool:
    """Whether ``file://`` artifacts may be used: a local devnet chain id or network name."""
    return (chain_id is not None and int(chain_id) in LOCAL_CHAIN_IDS) or network == LOCAL_NETWORK


@dataclass(frozen=True)
class ArtifactURI:
    """A parsed artifact URI: ``location`` is the URI without its fragment."""

    raw: str
    scheme: str
    location: str
    companions: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The local file of a ``file``/plain-path URI."""
        if self.scheme != "file":
            raise ArtifactURIError(f"{self.raw} is not a local file URI.")
        parsed = urlparse(self.location)
        return Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(self.location)

    @property
    def bucket_key(self) -> tuple[str, str]:
        """``(bucket, key)`` of an ``s3://`` URI."""
        parsed = urlparse(self.location)
        key = parsed.path.lstrip("/")
        if self.scheme != "s3" or not parsed.netloc or not key:
            raise ArtifactURIError(f"{self.raw} is not an s3://bucket/key URI.")
        return parsed.netloc, key


def parse(uri: str) -> ArtifactURI:
    """Parse ``uri``; raises :class:`ArtifactURIError` for an empty URI or unknown scheme."""
    text = uri.strip()
    if not text:
        raise ArtifactURIError("the artifact URI is empty.")
    location, _, fragment = text.partition("#")
    scheme = urlparse(location).scheme.lower()
    if scheme == "" or (len(scheme) == 1 and location[1:3] in (":\\", ":/")):
        scheme = "file"  # a plain path (or a Windows drive letter)
    if scheme not in SCHEMES:
        raise ArtifactURIError(
            f"artifact URI {text!r} has an unsupported scheme '{scheme}' "
            f"(supported: {', '.join(SCHEMES)})."
        )
    if scheme in ("http", "https") and not urlparse(location).netloc:
        raise ArtifactURIError(f"artifact URI {text!r} names no host.")
    companions: dict[str, str] = {}
    for part in filter(None, fragment.split("&")):
        name, _, value = part.partition("=")
        if name and value:
            companions[name] = value
    return ArtifactURI(raw=text, scheme=scheme, location=location, companions=companions)


def require_readable(uri: str, *, local_ok: bool) -> ArtifactURI:
    """Parse ``uri`` and refuse a local file URI when ``local_ok`` is false."""
    parsed = parse(uri)
    if parsed.scheme == "file" and not local_ok:
        raise ArtifactURIError(
            f"artifact URI {uri!r} is a local file: file:// artifacts are only used on a local "
            "chain (chain id 31337/1337 or network 'local'); use an http(s):// or s3:// store."
        )
    return parsed


def with_companions(uri: str, **companions: str) -> str:
    """``uri`` with ``name=<hex>`` companions in its fragment (replacing any it had)."""
    location = uri.partition("#")[0]
    if not companions:
        return location
    parts = "&".join(f"{name}={hex_of(value)}" for name, value in sorted(companions.items()))
    return f"{location}#{parts}"


def companion(uri: str, name: str) -> str | None:
    """The ``0x`` hash of companion ``name`` in ``uri``'s fragment, or ``None``."""
    value = parse(uri).companions.get(name)
    return None if value is None else "0x" + hex_of(value)


def sibling(uri: str, name: str) -> str:
    """The URI of ``name`` in the same folder/prefix as ``uri`` (fragment dropped)."""
    location = uri.strip().partition("#")[0]
    head, sep, _ = location.rpartition("/")
    return f"{head}/{name}" if sep else name
