"""Artifacts travel by URI, never by shared disk: content-addressed stores and verified fetches.

Every artifact (node adapters, replay bundles, epoch checkpoints, base adapters, a pool's
model and data set) is named by its SHA-256 (``"0x" + sha256(bytes).hexdigest()``, as
``trainer.artifacts.adapter_hash``) and read by URI; whoever reads checks the hash.

The contract (everything else in the package is detail)::

    from offchain.artifacts import ArtifactSettings, open_store, open_fetcher, fetch_verified

    store = open_store(settings.artifacts, data_dir=..., chain_id=..., network=...)
    ref = store.put(Path("adapter.safetensors"))   # ArtifactRef(uri, sha256, size)
    path = fetch_verified(ref.uri, ref.sha256, cache_dir, limits=FetchLimits(), local_ok=False)
    path = open_fetcher(settings.artifacts, data_dir=..., chain_id=...).fetch(uri, sha256)

* :mod:`~offchain.artifacts.store` — :class:`ArtifactStore` (``put``, ``put_bytes``,
  ``uri_for``, ``has``) and :class:`ArtifactRef`;
* :mod:`~offchain.artifacts.local` — a folder named by hash (``local``: ``file://`` URIs on a
  local chain only; ``http``: the same folder behind the server);
* :mod:`~offchain.artifacts.server` — the worker's read-only server,
  ``GET/HEAD /artifacts/<sha256 hex>``;
* :mod:`~offchain.artifacts.s3` — ``s3://bucket/prefix`` on any S3-compatible store (boto3);
* :mod:`~offchain.artifacts.fetch` — :func:`fetch_verified`: hash-checked, size- and
  time-bounded, retried with bounded backoff, cached by hash;
* :mod:`~offchain.artifacts.uri` — schemes, the local-chain rule, companion hashes in the
  fragment (``...#replay=<hex>``);
* :mod:`~offchain.artifacts.errors` — unavailable (no evidence) vs hash mismatch (evidence);
* :mod:`~offchain.artifacts.settings` — ``LORANET_ARTIFACTS_*`` (docs/artifacts.md).
"""

from offchain.artifacts.digest import hex_of, normalize, sha256_bytes, sha256_file
from offchain.artifacts.errors import (
    ArtifactError,
    ArtifactHashMismatchError,
    ArtifactTooLargeError,
    ArtifactUnavailableError,
    ArtifactURIError,
)
from offchain.artifacts.factory import open_fetcher, open_store, serve, store_kind
from offchain.artifacts.fetch import Fetcher, fetch_verified
from offchain.artifacts.limits import FetchLimits
from offchain.artifacts.local import LocalStore
from offchain.artifacts.server import ArtifactServer
from offchain.artifacts.settings import ArtifactSettings
from offchain.artifacts.store import ArtifactRef, ArtifactStore
from offchain.artifacts.uri import companion, is_local_chain, sibling, with_companions

__all__ = [
    "ArtifactError",
    "ArtifactHashMismatchError",
    "ArtifactRef",
    "ArtifactServer",
    "ArtifactSettings",
    "ArtifactStore",
    "ArtifactTooLargeError",
    "ArtifactURIError",
    "ArtifactUnavailableError",
    "FetchLimits",
    "Fetcher",
    "LocalStore",
    "companion",
    "fetch_verified",
    "hex_of",
    "is_local_chain",
    "normalize",
    "open_fetcher",
    "open_store",
    "serve",
    "sha256_bytes",
    "sha256_file",
    "sibling",
    "store_kind",
    "with_companions",
]
