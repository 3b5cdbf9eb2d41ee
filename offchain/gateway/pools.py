"""Serve what the network trained: a pool's latest finalized adapter, following new rounds.

Where the bytes come from (the resolution this gateway uses): the chain records, per pool,
the hash of the adapter its last finalized round produced (``WorkLedger.baseAdapterOf``,
the element-wise mean of the accepted adapters, which the validators computed and the
quorum agreed on; ``0x00..`` until a round is finalized). The chain records no URI for it:
the validators keep it in their adapter folder, named by hash, and the pool's metadata
document lists ``adapter_sources``, base URIs where round base adapters can be read
(the same sources workers start each round from). The gateway tries, for each source of
the pool's metadata and then of its own config, ``<source>/<hash hex>`` (the artifact
stores' naming) and ``<source>/<hash hex>.safetensors`` (the validators' folders),
through :mod:`offchain.artifacts` (``http(s)://``, ``s3://``; ``file://`` and plain
folders on a local chain only), and installs the first copy whose bytes hash to the
recorded hash. A copy that does not is discarded (never served).

:class:`PoolFollower` does this at start and then every ``poll_s``: when the recorded hash
changes (a new round was finalized) the new adapter is fetched, verified and loaded into the
base model's engine under the same served name (requests already decoding finish on the old
weights). Until the first finalized round, or while no source has the bytes, the pool's
model is not ready (``/health`` says why) and requests for it get 503.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from offchain.gateway.config import GatewayConfig
from offchain.gateway.errors import GatewayError
from offchain.logging import kv

logger = logging.getLogger(__name__)

ZERO_HASH = "0x" + "00" * 32


class PoolSource(Protocol):
    """What the gateway reads about a pool (the chain, in production)."""

    def adapter_hash(self, pool_id: int) -> str:
        """The hash of the pool's latest finalized adapter (``ZERO_HASH``: none yet)."""
        ...

    def adapter_sources(self, pool_id: int) -> list[str]:
        """Base URIs where the pool's adapters can be read by hash."""
        ...

    def fetch(self, uri: str, sha256: str) -> Path:
        """The verified local file of the artifact ``sha256`` at ``uri``."""
        ...

    def train_model(self, pool_id: int) -> dict[str, Any] | None:
        """The ``ModelConfig`` fields the pool trains with (its metadata's ``train.model``),
        None when the pool sets none (the trainer's default model)."""
        ...


def with_pool_bases(config: GatewayConfig, source: PoolSource) -> GatewayConfig:
    """``config`` where every pool entry without ``base`` names the model the pool trains:
    its metadata's ``train.model``, added to ``base_models`` as ``<model>-base`` unless an
    identical base model is already configured; a pool that sets none keeps the default
    (the first base model)."""
    from trainer.config import ModelConfig

    bases = dict(config.base_models)
    pools = []
    for entry in config.pools:
        fields = source.train_model(entry.pool) if entry.base is None else None
        if fields:
            wanted = ModelConfig.model_validate(fields)
            name = next((n for n, m in bases.items() if m == wanted), None)
            if name is None:
                name = f"{entry.model_name}-base"
                bases[name] = wanted
            entry = entry.model_copy(update={"base": name})
        pools.append(entry)
    return GatewayConfig.model_validate(
        {**config.model_dump(), "base_models": bases, "pools": pools}
    )


#: ``(served name, base model, adapter file) -> adapter hash``: installs the adapter.
Installer = Callable[[str, str, Path], str]


@dataclass
class PoolFollower:
    """Keeps the served model ``name`` equal to pool ``pool_id``'s latest adapter."""

    pool_id: int
    name: str
    base: str
    source: PoolSource
    install: Installer
    extra_sources: list[str] = field(default_factory=list)
    poll_s: float = 15.0
    current: str | None = None
    error: str | None = "not checked yet"
    checked_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def refresh(self) -> str | None:
        """Read the recorded hash; fetch, verify and install a new adapter. Returns the hash
        served now (None: nothing yet). Never raises: the error is kept for ``/health``."""
        try:
            digest = self.source.adapter_hash(self.pool_id).lower()
            if digest == ZERO_HASH:
                self.error = f"pool {self.pool_id} has no finalized round yet"
            elif digest != self.current:
                path = self._fetch(digest)
                installed = self.install(self.name, self.base, path)
                if installed.lower() != digest:  # cannot happen: fetch verified the bytes
                    raise GatewayError(f"installed {installed}, expected {digest}")
                logger.info(
                    "pool adapter served",
                    extra=kv(pool=self.pool_id, model=self.name, adapter=digest),
                )
                self.current, self.error = digest, None
            else:
                self.error = None
        except Exception as err:  # a chain or store hiccup must not stop the follower
            self.error = str(err)
            logger.warning("pool adapter not updated", extra=kv(pool=self.pool_id, error=str(err)))
        self.checked_at = time.time()
        return self.current

    def _fetch(self, digest: str) -> Path:
        sources = list(
            dict.fromkeys([*self.source.adapter_sources(self.pool_id), *self.extra_sources])
        )
        if not sources:
            raise GatewayError(
                f"pool {self.pool_id}'s adapter {digest} has no source: its metadata lists no "
                "adapter_sources and the gateway config adds none."
            )
        hexpart = digest.removeprefix("0x")
        failures = []
        for base in sources:
            for leaf in (hexpart, f"{hexpart}.safetensors"):
                uri = f"{base.rstrip('/')}/{leaf}"
                try:
                    return self.source.fetch(uri, digest)
                except Exception as err:
                    failures.append(f"{uri}: {err}")
        raise GatewayError(
            f"pool {self.pool_id}'s adapter {digest} is in none of its sources "
            f"({'; '.join(failures)[:600]})."
        )

    def start(self) -> None:
        """Follow in a background thread (the first check runs at once, without holding up
        the gateway's start: a slow or unreachable source only delays this model)."""
        self._thread = threading.Thread(target=self._run, name=f"pool-{self.pool_id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.refresh()
        while not self._stop.wait(self.poll_s):
            self.refresh()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def status(self) -> dict[str, Any]:
        return {
            "pool": self.pool_id,
            "model": self.name,
            "base_model": self.base,
            "adapter_hash": self.current,
            "error": self.error,
            "checked_at": self.checked_at,
        }


class ChainPoolSource:
    """:class:`PoolSource` over the chain: ``WorkLedger.baseAdapterOf`` and the pool's
    metadata (``offchain.pools``), bytes through :mod:`offchain.artifacts`."""

    def __init__(self, client: Any, fetcher: Any) -> None:
        from offchain.pools.discovery import PoolDiscovery

        self._ledger = client.contract("WorkLedger")
        self._discovery = PoolDiscovery(client)
        self._fetcher = fetcher

    def adapter_hash(self, pool_id: int) -> str:
        value = self._ledger.functions.baseAdapterOf(pool_id).call()
        return "0x" + bytes(value).hex()

    def adapter_sources(self, pool_id: int) -> list[str]:
        return list(self._discovery.metadata(pool_id).adapter_sources)

    def fetch(self, uri: str, sha256: str) -> Path:
        return Path(self._fetcher.fetch(uri, sha256))

    def train_model(self, pool_id: int) -> dict[str, Any] | None:
        model = self._discovery.metadata(pool_id).train.get("model")
        return dict(model) if isinstance(model, dict) else None
