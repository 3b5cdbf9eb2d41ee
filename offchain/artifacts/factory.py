"""Build the configured store, fetcher and server from :class:`ArtifactSettings`."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlparse

from offchain.artifacts.errors import ArtifactURIError
from offchain.artifacts.fetch import Fetcher
from offchain.artifacts.local import LocalStore
from offchain.artifacts.server import ROUTE, ArtifactServer
from offchain.artifacts.settings import ArtifactSettings
from offchain.artifacts.store import ArtifactStore
from offchain.artifacts.uri import is_local_chain, parse

logger = logging.getLogger(__name__)

LOCAL, HTTP = "local", "http"


def store_kind(settings: ArtifactSettings, *, local_chain: bool) -> str:
    """``local``, ``http`` or ``s3`` for the settings (default: ``local`` on a local chain)."""
    store = (settings.store or "").strip()
    if not store:
        if local_chain:
            return LOCAL
        raise ArtifactURIError(
            "no artifact store is configured for this chain: set LORANET_ARTIFACTS_STORE to "
            "'http' (serve from this machine) or 's3://bucket/prefix' (docs/artifacts.md)."
        )
    if store.lower() in (LOCAL, HTTP):
        return store.lower()
    scheme = parse(store).scheme
    return "s3" if scheme == "s3" else LOCAL if scheme == "file" else scheme


def open_store(
    settings: ArtifactSettings,
    *,
    data_dir: Path,
    chain_id: int | None = None,
    network: str | None = None,
) -> ArtifactStore:
    """The store this machine puts its artifacts into.

    ``local`` (or a folder / ``file://`` URI): ``file://`` URIs, only on a local chain;
    ``http``: the folder ``settings.dir`` served by :func:`serve` at ``settings.serve_url``;
    ``s3://bucket/prefix``: any S3-compatible store (``settings.s3_*``).
    Raises :class:`ArtifactURIError` for a store that cannot work on this chain.
    """
    local_chain = is_local_chain(chain_id, network)
    kind = store_kind(settings, local_chain=local_chain)
    if kind == LOCAL:
        if not local_chain:
            raise ArtifactURIError(
                f"the artifact store {settings.store or 'local'!r} keeps file:// artifacts, which "
                f"no other machine can read: chain {chain_id} ({network}) is not a local chain; "
                "set LORANET_ARTIFACTS_STORE to 'http' or 's3://bucket/prefix'."
            )
        store = settings.store
        root = (
            parse(store).path
            if store and store.lower() != LOCAL
            else settings.resolved_dir(data_dir)
        )
        return LocalStore(root)
    if kind == HTTP:
        base = settings.serve_url + ROUTE.rstrip("/")
        host = urlparse(settings.serve_url).hostname or ""
        if not local_chain and host in ("127.0.0.1", "localhost", "::1"):
            logger.warning(
                "artifact URIs name %s, which no other machine can reach: set "
                "LORANET_ARTIFACTS_PUBLIC_URL (or LORANET_ARTIFACTS_SERVE_HOST to this "
                "machine's address)",
                settings.serve_url,
            )
        return LocalStore(settings.resolved_dir(data_dir), base_url=base, kind=HTTP)
    if kind == "s3":
        from offchain.artifacts.s3 import S3Store

        return S3Store.from_settings(str(settings.store), settings)
    raise ArtifactURIError(
        f"artifact store {settings.store!r} is not one of 'http', 's3://bucket/prefix' or 'local'."
    )


def open_fetcher(
    settings: ArtifactSettings,
    *,
    data_dir: Path,
    chain_id: int | None = None,
    network: str | None = None,
) -> Fetcher:
    """A :class:`Fetcher` with this machine's cache, limits and S3 endpoint."""
    from offchain.artifacts.s3 import s3_client

    limits = settings.limits()
    return Fetcher(
        cache_dir=settings.resolved_cache_dir(data_dir),
        limits=limits,
        local_ok=is_local_chain(chain_id, network),
        s3_client=lambda: s3_client(settings, limits),
    )


def serve(settings: ArtifactSettings, *, data_dir: Path) -> ArtifactServer:
    """Start the artifact server of an ``http`` store (bind address from the settings)."""
    server = ArtifactServer(
        settings.resolved_dir(data_dir), settings.serve_host, settings.serve_port
    )
    return server.start()
