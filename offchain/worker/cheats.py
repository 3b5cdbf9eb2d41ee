"""Dishonest workers, for tests and the demo only (off by default).

``LORANET_CHEAT`` (or ``loranet worker run --cheat``) turns a worker into a cheater of one kind:

* ``copy`` — trains nothing; resubmits the adapter (and replay bundle) another node of the pool
  produced this round, read from that node's data dir (``LORANET_CHEAT_COPY_FROM``);
* ``inflate`` — trains honestly, claims 10x its samples;
* ``noise`` — trains honestly, submits a random adapter of the same shapes and scale;
* ``lazy`` — trains nothing; submits the round's base adapter with made-up replay records.

Each is caught by at least one validator check (docs/validation.md) and slashed.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import torch
from pydantic_settings import BaseSettings, SettingsConfigDict

from offchain.errors import LoranetError
from offchain.worker.round_work import TrainedRound, TrainFn

logger = logging.getLogger(__name__)

CheatKind = Literal["none", "copy", "inflate", "noise", "lazy"]
CHEATS: tuple[str, ...] = ("copy", "inflate", "noise", "lazy")
INFLATE_FACTOR = 10
BUNDLE_FILE = "replay-bundle.json"  # offchain.validator.bundle.BUNDLE_FILE


class CheatError(LoranetError):
    """A cheat cannot be carried out (nothing to copy, unknown kind)."""


class CheatSettings(BaseSettings):
    """``LORANET_CHEAT`` and ``LORANET_CHEAT_COPY_FROM``."""

    model_config = SettingsConfigDict(env_prefix="LORANET_", extra="ignore")

    cheat: CheatKind = "none"
    cheat_copy_from: Path | None = None
    cheat_copy_wait_s: float = 600.0


def inflate(trained: TrainedRound) -> TrainedRound:
    """Claim ``INFLATE_FACTOR`` times the samples."""
    return trained.model_copy(update={"samples": trained.samples * INFLATE_FACTOR})


def noise(trained: TrainedRound, out_dir: Path, *, seed: int) -> TrainedRound:
    """Replace every tensor by Gaussian noise with the tensor's own mean and spread."""
    from trainer.artifacts import load_adapter_state, save_adapter

    gen = torch.Generator().manual_seed(seed)
    state = load_adapter_state(trained.adapter_path)
    fake = {
        k: torch.randn(v.shape, generator=gen) * (float(v.std()) + 1e-3) + float(v.mean())
        for k, v in state.items()
    }
    path = out_dir / "noise.safetensors"
    digest = save_adapter(fake, path)
    return trained.model_copy(update={"adapter_path": path, "adapter_hash": digest})


def lazy(
    base: Path,
    out_dir: Path,
    *,
    node: str,
    pool_id: int,
    round: int,
    steps: int,
    batch_size: int,
    projection_dim: int,
) -> TrainedRound:
    """The base adapter, unchanged, with made-up records of ``steps`` steps."""
    from trainer.artifacts import adapter_hash
    from trainer.replay import ReplayRecord, records_root

    path = out_dir / "adapter.safetensors"
    shutil.copyfile(base, path)
    digest = adapter_hash(path)
    # one made-up step per segment, each "starting and ending" at the untouched base adapter
    records = [
        ReplayRecord.make(s, s, 1.0, torch.zeros(projection_dim), digest, digest)
        for s in range(steps)
    ]
    bundle = {
        "node": node,
        "pool_id": pool_id,
        "round": round,
        "run_id": "lazy",
        "node_index": 0,
        "node_count": 1,
        "batch_size": batch_size,
        "records": [r.to_json() for r in records],
        "checkpoints": [digest],
    }
    (out_dir / BUNDLE_FILE).write_text(json.dumps(bundle))
    return TrainedRound(
        adapter_path=path,
        adapter_hash=digest,
        samples=steps * batch_size,
        loss=1.0,
        replay_root=records_root(records),
    )


def copy(
    source_dir: Path, out_dir: Path, *, node: str, pool_id: int, round: int, wait_s: float
) -> TrainedRound:
    """Another node's trained round of ``(pool_id, round)`` from its data dir, as our own."""
    marker = source_dir / "rounds" / str(pool_id) / str(round) / "trained.json"
    deadline = time.monotonic() + wait_s
    while not marker.is_file():
        if time.monotonic() > deadline:
            raise CheatError(f"nothing to copy: {marker} did not appear within {wait_s:.0f} s.")
        time.sleep(0.5)
    theirs = TrainedRound.model_validate_json(marker.read_text())
    path = out_dir / "adapter.safetensors"
    shutil.copyfile(theirs.adapter_path, path)
    bundle_src = theirs.adapter_path.parent / BUNDLE_FILE
    if bundle_src.is_file():
        bundle = json.loads(bundle_src.read_text())
        bundle["node"] = node
        (out_dir / BUNDLE_FILE).write_text(json.dumps(bundle))
        checkpoints = theirs.adapter_path.parent / "checkpoints"
        if checkpoints.is_dir():
            shutil.copytree(checkpoints, out_dir / "checkpoints", dirs_exist_ok=True)
    return theirs.model_copy(update={"adapter_path": path})


def with_cheat(
    train: TrainFn,
    kind: str,
    *,
    node: str,
    base: Callable[[int, int], Path] | None = None,
    steps: int = 0,
    batch_size: int = 0,
    projection_dim: int = 0,
    copy_from: Path | None = None,
    copy_wait_s: float = 600.0,
) -> TrainFn:
    """``train`` turned into a cheater of ``kind`` (``none`` returns ``train`` itself)."""
    if kind == "none":
        return train
    if kind not in CHEATS:
        raise CheatError(f"unknown cheat '{kind}': choose one of {', '.join(CHEATS)}.")
    if kind == "copy" and copy_from is None:
        raise CheatError("the copy cheat needs LORANET_CHEAT_COPY_FROM (a node's data dir).")
    if kind == "lazy" and base is None:
        raise CheatError("the lazy cheat needs the round's base adapter.")
    logger.warning("this worker CHEATS (%s): for tests and demos only", kind)

    def _train(pool_id: int, round: int, out_dir: Path) -> TrainedRound:
        logger.warning("cheating (%s) in pool %d round %d", kind, pool_id, round)
        if kind == "copy":
            assert copy_from is not None
            return copy(
                copy_from, out_dir, node=node, pool_id=pool_id, round=round, wait_s=copy_wait_s
            )
        if kind == "lazy":
            assert base is not None
            return lazy(
                base(pool_id, round),
                out_dir,
                node=node,
                pool_id=pool_id,
                round=round,
                steps=steps,
                batch_size=batch_size,
                projection_dim=projection_dim,
            )
        trained = train(pool_id, round, out_dir)
        if kind == "inflate":
            return inflate(trained)
        return noise(trained, out_dir, seed=pool_id * 1_000_003 + round)

    return _train
