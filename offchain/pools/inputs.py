"""A pool's base model and data set: fetched by their on-chain URIs, verified by hash.

``ComputePool`` stores each pool's ``baseModelHash`` and ``datasetHash``; the URIs are in its
``PoolCreated`` event. Before a node trains a round, and before a validator checks one,
:func:`verified_pool_config` turns the train config into the one of *this pool*:

1. read the pool's hashes (``poolOf``) and URIs (``PoolCreated``);
2. for each of model and data set:

   * a URI an artifact store can read (``http(s)://``, ``s3://``, ``file://`` on a local
     chain) is fetched and checked against the on-chain hash: a file is the artifact itself;
     a folder (a model, a ``datasets`` folder) is its manifest plus its files, each fetched
     beside it by its own hash (:mod:`trainer.content_hash`) and assembled once in the cache.
     The config's ``path`` becomes the verified local copy (``source="pretrained"`` for the
     model; the data set's format is detected unless the config names one);
   * any other URI (``builtin://``, ``tiny://``, ...) names the trainer's built-in model or
     data set, which is code, not bytes: accepted only when the config uses the built-in
     (``source="tiny"`` / ``"arithmetic"``), refused otherwise;

3. check that this machine runs the pool's precision (dtype, quantization) exactly.

Any failure is a :class:`PoolInputsError` with one sentence: a node does not train (no
report), a validator abstains (no attestation); a hash mismatch is never trained on or
reported. Fetched artifacts are cached by hash, so later rounds cost nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.errors import LoranetError
from offchain.logging import kv
from trainer.config import TrainConfig

logger = logging.getLogger(__name__)

FETCHABLE_SCHEMES = ("http", "https", "s3", "file")
MODEL, DATASET = "base model", "data set"


class PoolInputsError(LoranetError):
    """The pool's model or data set cannot be had, does not match its on-chain hash, or this
    machine cannot run the pool's precision."""


class PoolInputsMismatchError(PoolInputsError):
    """An artifact named by the pool does not hash to the pool's on-chain hash."""


class PrecisionRefusedError(PoolInputsError):
    """This machine cannot run the pool's dtype or quantization (a validator abstains)."""


@dataclass(frozen=True)
class PoolInputs:
    """The pool's base model and data set as the chain names them."""

    pool_id: int
    model_uri: str
    model_hash: str
    dataset_uri: str
    dataset_hash: str


def read_pool_inputs(pools: Any, pool_id: int, *, from_block: int = 0) -> PoolInputs:
    """Hashes from ``poolOf``, URIs from the pool's ``PoolCreated`` event."""
    count = int(pools.functions.poolCount().call())
    if not 1 <= pool_id <= count:
        raise PoolInputsError(f"pool {pool_id} does not exist.")
    stored = pools.functions.poolOf(pool_id).call()
    logs = pools.events.PoolCreated.get_logs(
        argument_filters={"poolId": pool_id}, from_block=from_block
    )
    if not logs:
        raise PoolInputsError(f"no PoolCreated event of pool {pool_id} since block {from_block}.")
    params = logs[0]["args"]["params"]
    return PoolInputs(
        pool_id=pool_id,
        model_uri=str(params["baseModelUri"]),
        model_hash="0x" + bytes(stored[11]).hex(),
        dataset_uri=str(params["datasetUri"]),
        dataset_hash="0x" + bytes(stored[12]).hex(),
    )


def is_fetchable(uri: str) -> bool:
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else "file"
    return scheme in FETCHABLE_SCHEMES


def _fetch(fetcher: Any, uri: str, digest: str, what: str, pool_id: int) -> Path:
    from offchain.artifacts import ArtifactError, ArtifactHashMismatchError, sibling
    from trainer.content_hash import materialize
    from trainer.errors import ContentHashError

    cache = Path(fetcher.cache_dir) / "folders"
    try:
        return materialize(uri, digest, fetcher.fetch, sibling, cache)
    except (ArtifactHashMismatchError, ContentHashError) as err:
        raise PoolInputsMismatchError(
            f"pool {pool_id}'s {what} at {uri} does not match its on-chain hash {digest}: "
            f"refusing to use it ({err})"
        ) from err
    except ArtifactError as err:
        raise PoolInputsError(
            f"pool {pool_id}'s {what} cannot be fetched from {uri}: {err}"
        ) from err


def resolve_pool_config(cfg: TrainConfig, inputs: PoolInputs, fetcher: Any) -> TrainConfig:
    """``cfg`` with the pool's verified model and data set (steps 2 of the module doc)."""
    pid = inputs.pool_id
    model, data = cfg.model, cfg.data
    if is_fetchable(inputs.model_uri):
        folder = _fetch(fetcher, inputs.model_uri, inputs.model_hash, MODEL, pid)
        if not folder.is_dir():
            raise PoolInputsError(
                f"pool {pid}'s base model {inputs.model_uri} is a single file, not a model "
                "folder (publish the folder: docs/trainer.md)."
            )
        model = model.model_copy(update={"source": "pretrained", "path": folder})
    elif model.source != "tiny":
        raise PoolInputsError(
            f"pool {pid}'s base model URI {inputs.model_uri} names no fetchable artifact, but "
            f"this train config loads {model.path}: refusing to train a model the pool did not "
            "name."
        )
    if is_fetchable(inputs.dataset_uri):
        path = _fetch(fetcher, inputs.dataset_uri, inputs.dataset_hash, DATASET, pid)
        source = data.source if data.source not in ("arithmetic", "text") else "auto"
        data = data.model_copy(update={"source": source, "path": path})
    elif data.source != "arithmetic":
        raise PoolInputsError(
            f"pool {pid}'s data set URI {inputs.dataset_uri} names no fetchable artifact, but "
            f"this train config reads {data.path}: refusing to train on data the pool did not "
            "name."
        )
    resolved = TrainConfig.model_validate(
        {**cfg.model_dump(), "model": model.model_dump(), "data": data.model_dump()}
    )
    logger.info(
        "pool inputs verified",
        extra=kv(
            pool=pid,
            model=inputs.model_uri,
            model_hash=inputs.model_hash,
            dataset=inputs.dataset_uri,
            dataset_hash=inputs.dataset_hash,
        ),
    )
    return resolved


def verified_pool_config(
    cfg: TrainConfig, *, client: Any, pool_id: int, data_dir: Path, fetcher: Any = None
) -> TrainConfig:
    """The train config of ``pool_id`` with its verified model and data set, checked to run in
    the pool's precision here. The one call a node makes before it trains a round and a
    validator makes before it checks one (see the module doc)."""
    from trainer.hardware import precision_problem

    if fetcher is None:
        from offchain.artifacts import open_fetcher

        fetcher = open_fetcher(
            client.settings.artifacts,
            data_dir=Path(data_dir),
            chain_id=client.chain_id,
            network=getattr(client.settings, "network", None),
        )
    inputs = read_pool_inputs(
        client.contract("ComputePool"), pool_id, from_block=int(client.deployment.block)
    )
    resolved = resolve_pool_config(cfg, inputs, fetcher)
    problem = precision_problem(resolved.model)
    if problem is not None:
        raise PrecisionRefusedError(f"pool {pool_id}: {problem}.")
    return resolved
