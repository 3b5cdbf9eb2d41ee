"""A round's base adapter as a file: the seeded LoRA initialisation of the pool's model for
hash 0, else the adapter with the on-chain hash, fetched from adapter sources and verified."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from offchain.artifacts import Fetcher
from offchain.rounds.bundle import ZERO_HASH
from offchain.rounds.errors import FetchError, RoundError
from offchain.rounds.fetch import as_fetcher, fetch
from trainer.artifacts import save_adapter
from trainer.config import TrainConfig

logger = logging.getLogger(__name__)


def fresh_adapter(cfg: TrainConfig, cache_dir: Path) -> Path:
    """The seeded LoRA initialisation of ``cfg.model`` as an adapter file (hash 0 on chain)."""
    from trainer.models import attach_lora, build_base_model

    cache_dir.mkdir(parents=True, exist_ok=True)
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    tmp = cache_dir / "fresh.tmp"
    digest = save_adapter(model, tmp)
    path = cache_dir / f"fresh-{digest.removeprefix('0x')}.safetensors"
    tmp.replace(path)
    return path


def resolve_adapter(digest: str, sources: Sequence[str], cache: Fetcher | Path) -> Path:
    """The adapter with ``digest``, fetched by hash from the first source that serves it.

    A source is a base URI (``https://host/artifacts``, ``s3://bucket/prefix``, or a folder on
    a local chain) under which artifacts are named ``<hash hex>`` (or the older
    ``<hash hex>.safetensors``); every fetch is verified against ``digest``.
    """
    hexpart = digest.lower().removeprefix("0x")
    fetcher = as_fetcher(cache)
    hit = fetcher.cached(digest)
    if hit is not None:
        return hit
    errors = []
    for source in sources:
        for name in (hexpart, f"{hexpart}.safetensors"):
            uri = f"{source.rstrip('/')}/{name}"
            try:
                return fetch(uri, digest, fetcher)
            except FetchError as err:
                errors.append(str(err))
    logger.warning("base adapter %s not found: %s", digest, " | ".join(errors) or "no sources")
    raise RoundError(f"adapter {digest} is in none of the adapter sources {list(sources)}.")


def round_base(
    cfg: TrainConfig, digest: str, sources: Sequence[str], cache: Fetcher | Path
) -> tuple[Path | None, str]:
    """(adapter file to start from or None for the fresh one, its on-chain hash)."""
    if digest == ZERO_HASH:
        return None, ZERO_HASH
    return resolve_adapter(digest, sources, cache), digest
