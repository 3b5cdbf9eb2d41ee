"""The pool-metadata document: where a pool's swarm is and how the pool trains.

``ComputePool`` keeps one string per pool, ``metadataUri``, set by the creator at
``createPool`` and replaced with ``setPoolMetadataUri`` (both go through the hub; the string
lives only in the ``PoolCreated`` / ``PoolMetadataUpdated`` events). It names a JSON document
(:class:`PoolMetadata`)::

    {"version": 1,
     "name": "tiny-llama arithmetic",
     "bootstrap_peers": ["/ip4/203.0.113.7/tcp/31337/p2p/12D3KooW..."],
     "train": {"max_epochs": 3, "hivemind": {"target_batch_size": 64}},
     "adapter_sources": ["s3://loranet-pool-1/adapters"]}

The string may be the document itself (a ``data:application/json`` URI, or, as older pools
did, plain JSON text) or a URL of it: ``http(s)://`` (any static host), ``s3://`` (the
artifact store) or ``file://`` (local chains only: no other machine can read it).
``bootstrap_peers`` are the multiaddrs of long-lived peers of the pool's hivemind swarm
(``loranet dht`` runs one); ``train`` holds :class:`trainer.config.TrainConfig` fields that
every node of the pool must share; ``adapter_sources`` are base URIs where the round base
adapters can be fetched by hash.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes, urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from offchain.logging import kv
from offchain.pools.errors import MetadataError

logger = logging.getLogger(__name__)

MAX_METADATA_BYTES = 64 * 1024
HTTP_TIMEOUT_S = 10.0
DATA_PREFIX = "data:application/json"
#: A dialable hivemind/libp2p address: a transport part, then the peer id.
_MADDR = re.compile(r"^/(ip4|ip6|dns|dns4|dns6)/[^/]+/(tcp|udp)/\d+(/[a-z0-9-]+)*/p2p/\w+$")

#: ``fetch(uri) -> bytes`` for URL schemes other than ``data:`` (tests and stores plug in here).
Fetcher = Callable[[str], bytes]


class PoolMetadata(BaseModel):
    """The document a pool's ``metadataUri`` names (unknown keys are kept, not used)."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    version: int = Field(1, ge=1, description="Format version of this document.")
    name: str = Field("", description="A human name of the pool.")
    description: str = Field("", description="What the pool trains, for people.")
    bootstrap_peers: list[str] = Field(
        default_factory=list,
        alias="initial_peers",
        description="Multiaddrs (with /p2p/<peer id>) of long-lived peers of the pool's swarm.",
    )
    train: dict[str, Any] = Field(
        default_factory=dict, description="TrainConfig fields every node of the pool shares."
    )
    adapter_sources: list[str] = Field(
        default_factory=list, description="Base URIs where round base adapters are found."
    )

    @field_validator("bootstrap_peers")
    @classmethod
    def _dialable(cls, peers: list[str]) -> list[str]:
        for peer in peers:
            if not _MADDR.match(peer):
                raise ValueError(
                    f"{peer!r} is not a dialable multiaddr (/ip4/<host>/tcp/<port>/p2p/<peer id>)"
                )
        return peers

    def to_json(self) -> str:
        """Compact JSON (by field name), the form that goes into a ``data:`` URI."""
        return json.dumps(
            self.model_dump(mode="json", exclude_defaults=True),
            sort_keys=True,
            separators=(",", ":"),
        )

    def to_data_uri(self) -> str:
        """The document inline: ``data:application/json,<percent-encoded JSON>``."""
        return f"{DATA_PREFIX},{quote(self.to_json(), safe='')}"


def parse_metadata(raw: bytes | str, *, where: str = "the metadata") -> PoolMetadata:
    """Validate a metadata document; a ``MetadataError`` sentence when it is not one."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as err:
        raise MetadataError(f"{where} is not JSON: {err.msg} at line {err.lineno}.") from None
    if not isinstance(data, dict):
        raise MetadataError(f"{where} is not a JSON object.")
    try:
        return PoolMetadata.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "document"
        raise MetadataError(f"{where} is invalid: {field}: {first['msg']}.") from None


def decode_data_uri(uri: str) -> bytes:
    """The bytes of an RFC 2397 ``data:`` URI (base64 or percent-encoded)."""
    header, sep, payload = uri.partition(",")
    if not sep:
        raise MetadataError(f"the data URI {uri[:40]}... has no ',' before its payload.")
    if header.endswith(";base64"):
        try:
            return base64.b64decode(unquote(payload), validate=True)
        except ValueError:
            raise MetadataError("the data URI's base64 payload is not valid.") from None
    return unquote_to_bytes(payload)


def default_fetcher(*, allow_file: bool) -> Fetcher:
    """``http(s)://`` (bounded size and time), ``file://`` when ``allow_file``, ``s3://``
    with the artifact stores' S3 settings (:mod:`offchain.artifacts`)."""

    def _fetch(uri: str) -> bytes:
        scheme = urlparse(uri).scheme
        if scheme in ("http", "https"):
            return _http_get(uri)
        if scheme == "file":
            if not allow_file:
                raise MetadataError(
                    f"metadata URI {uri} is a local file, which no other machine can read: "
                    "use an http(s):// or s3:// URI, or a data: URI, on this chain."
                )
            path = Path(unquote(urlparse(uri).path))
            if not path.is_file():
                raise MetadataError(f"metadata file {path} does not exist.")
            return _bounded(path.read_bytes(), uri)
        if scheme == "s3":
            return _bounded(_s3_get(uri), uri)
        raise MetadataError(
            f"metadata URI {uri!r} has an unsupported scheme (data, http, https, s3, file)."
        )

    return _fetch


def load_metadata(
    uri: str, *, fetch: Fetcher | None = None, allow_file: bool = False
) -> PoolMetadata:
    """The metadata document behind ``uri`` (empty document for an empty string).

    Raises:
        MetadataError: it cannot be fetched or is not a valid document (one sentence).
    """
    text = uri.strip()
    if not text:
        return PoolMetadata()
    if text.startswith("{"):  # the document itself (pools created before data: URIs)
        return parse_metadata(text, where="the pool's inline metadata")
    if text.startswith("data:"):
        return parse_metadata(decode_data_uri(text), where="the pool's data: metadata")
    getter = fetch or default_fetcher(allow_file=allow_file)
    raw = getter(text)
    logger.info("pool metadata fetched", extra=kv(uri=text, bytes=len(raw)))
    return parse_metadata(raw, where=f"the metadata at {text}")


def _bounded(raw: bytes, uri: str) -> bytes:
    if len(raw) > MAX_METADATA_BYTES:
        raise MetadataError(f"the metadata at {uri} is larger than {MAX_METADATA_BYTES} bytes.")
    return raw


def _http_get(uri: str) -> bytes:
    import requests

    try:
        with requests.get(uri, stream=True, timeout=HTTP_TIMEOUT_S) as response:
            response.raise_for_status()
            raw = response.raw.read(MAX_METADATA_BYTES + 1, decode_content=True)
    except requests.RequestException as err:
        reason = type(err).__name__
        raise MetadataError(f"cannot fetch the pool metadata at {uri} ({reason}).") from None
    return _bounded(raw, uri)


def _s3_get(uri: str) -> bytes:
    """An S3 object (``LORANET_ARTIFACTS_S3_*`` settings: endpoint, keys), first bytes only."""
    from offchain.artifacts.s3 import s3_client, split_s3

    try:
        bucket, key = split_s3(uri)
        answer = s3_client().get_object(
            Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_METADATA_BYTES}"
        )
        raw: bytes = answer["Body"].read()
    except Exception as err:  # boto3/botocore errors and ours: one sentence either way
        reason = getattr(err, "response", {}).get("Error", {}).get("Code") or type(err).__name__
        raise MetadataError(f"cannot fetch the pool metadata at {uri} ({reason}).") from None
    return raw
