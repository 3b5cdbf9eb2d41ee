"""What a node publishes for a round, and where a reader finds each piece.

A node's round folder holds the adapter, the replay bundle (``replay-bundle.json``) and the
training checkpoints the bundle names (``checkpoints/`` or ``epochs/``, ``*.safetensors``).
:func:`publish_round` puts every one of them into the node's store (each under its own hash)
and returns the adapter's reference whose URI carries the bundle's hash in its fragment::

    https://node-7.example.org/artifacts/<adapter hex>#replay=<bundle hex>

The report signs that URI, so the bundle is bound to the report. Readers find the bundle at
:func:`bundle_location` and a checkpoint at :func:`checkpoint_uri` (the same folder/prefix),
and fetch each by its hash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from offchain.artifacts.digest import hex_of
from offchain.artifacts.store import ArtifactRef, ArtifactStore
from offchain.artifacts.uri import companion, sibling, with_companions
from offchain.logging import kv

logger = logging.getLogger(__name__)

BUNDLE_FILE = "replay-bundle.json"
CHECKPOINT_DIRS = ("checkpoints", "epochs")
REPLAY = "replay"


def publish_round(store: ArtifactStore, adapter_path: Path) -> ArtifactRef:
    """Put the checkpoints, the bundle and the adapter; the adapter's ref names the bundle."""
    folder = Path(adapter_path).parent
    checkpoints = 0
    for name in CHECKPOINT_DIRS:
        for path in sorted((folder / name).glob("*.safetensors")):
            store.put(path)
            checkpoints += 1
    ref = store.put(Path(adapter_path))
    bundle = folder / BUNDLE_FILE
    if not bundle.is_file():
        return ref
    bundle_ref = store.put(bundle)
    logger.info(
        "round published",
        extra=kv(adapter=ref.sha256, bundle=bundle_ref.sha256, checkpoints=checkpoints),
    )
    return ArtifactRef(
        uri=with_companions(ref.uri, **{REPLAY: bundle_ref.sha256}),
        sha256=ref.sha256,
        size=ref.size,
    )


def round_store_fn(store: ArtifactStore) -> Callable[[Path], str]:
    """``adapter path -> public URI`` (the worker's ``StoreFn``) over :func:`publish_round`."""
    return lambda adapter_path: publish_round(store, adapter_path).uri


def bundle_location(artifact_uri: str) -> tuple[str, str] | None:
    """``(URI, sha256)`` of the replay bundle a report's artifact URI names, or ``None``."""
    digest = companion(artifact_uri, REPLAY)
    if digest is None:
        return None
    return sibling(artifact_uri, hex_of(digest)), digest


def checkpoint_uri(artifact_uri: str, digest: str) -> str:
    """Where checkpoint ``digest`` of a report lives: next to its artifact, by hash."""
    return sibling(artifact_uri, hex_of(digest))
