"""Dishonest workers, for tests and the demo only (off by default).

``LORANET_CHEAT`` (or ``loranet worker run --cheat``) turns a worker into a cheater of one kind:

* ``copy`` — trains nothing; resubmits the adapter (and replay bundle) another node of the pool
  produced this round, read from that node's data dir (``LORANET_CHEAT_COPY_FROM``);
* ``inflate`` — trains honestly, claims 10x its samples;
* ``noise`` — trains honestly, submits a random adapter of the same shapes and scale;
* ``lazy`` — trains nothing; submits the round's base adapter with made-up replay records;
* ``scale`` — trains, submits the base plus its update scaled (0.3x "half-done", 1.7x);
* ``drift`` — trains, adds noise of 0.74x its update's norm to the update;
* ``partial`` — trains, then fakes a tenth (at least one) of its committed segments as if it
  had skipped their steps (end checkpoint = start, copied losses), claiming every step;
* ``falsemode`` — trains on a CPU, claims the local-GPU execution mode (1.5x rate) and says
  ``cuda`` in its replay bundle;
* ``copygrad``, ``scalegrad``, ``poison`` — train with the swarm, then commit other
  contributions (per-outer-step updates) than their own: another node's, their own scaled
  3x, their own sign-flipped (:mod:`offchain.worker.contribution_cheats`).

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
from offchain.worker import contribution_cheats
from offchain.worker.round_work import TrainedRound, TrainFn

logger = logging.getLogger(__name__)

CheatKind = Literal[
    "none", "copy", "inflate", "noise", "lazy", "scale", "drift", "partial", "falsemode",
    "copygrad", "scalegrad", "poison",
]  # fmt: skip
CHEATS: tuple[str, ...] = (
    "copy", "inflate", "noise", "lazy", "scale", "drift", "partial", "falsemode",
    "copygrad", "scalegrad", "poison",
)  # fmt: skip
SCALE_FACTOR = 1.7
DRIFT_RATIO = 0.74
PARTIAL_FRACTION = 0.1
INFLATE_FACTOR = 10
BUNDLE_FILE = "replay-bundle.json"  # offchain.rounds.bundle.BUNDLE_FILE


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


def _update(
    trained: TrainedRound, base: Path
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    from trainer.artifacts import load_adapter_state

    base_state = load_adapter_state(base)
    state = load_adapter_state(trained.adapter_path)
    return base_state, {k: state[k].float() - base_state[k].float() for k in state}


def _submit_state(
    trained: TrainedRound, state: dict[str, torch.Tensor], out_dir: Path, name: str
) -> TrainedRound:
    from trainer.artifacts import save_adapter

    path = out_dir / f"{name}.safetensors"
    digest = save_adapter(state, path)
    return trained.model_copy(update={"adapter_path": path, "adapter_hash": digest})


def scale(trained: TrainedRound, base: Path, out_dir: Path, *, factor: float) -> TrainedRound:
    """The base plus ``factor`` times the honest update (0.3: a lazy partial update)."""
    base_state, update = _update(trained, base)
    state = {k: base_state[k].float() + factor * update[k] for k in update}
    return _submit_state(trained, state, out_dir, f"scaled-{factor}")


def drift(
    trained: TrainedRound, base: Path, out_dir: Path, *, seed: int, ratio: float = DRIFT_RATIO
) -> TrainedRound:
    """The honest adapter plus Gaussian noise of ``ratio`` times the update's norm."""
    base_state, update = _update(trained, base)
    gen = torch.Generator().manual_seed(seed)
    noise = {k: torch.randn(v.shape, generator=gen) for k, v in update.items()}
    norm = torch.cat([v.reshape(-1) for v in update.values()]).norm()
    nnorm = torch.cat([v.reshape(-1) for v in noise.values()]).norm()
    state = {
        k: base_state[k].float() + update[k] + noise[k] * (ratio * norm / nnorm) for k in update
    }
    return _submit_state(trained, state, out_dir, f"drift-{seed}")


def partial(
    trained: TrainedRound, out_dir: Path, *, seed: int, fraction: float = PARTIAL_FRACTION
) -> TrainedRound:
    """Rewrite the replay bundle in ``out_dir`` (a copy of the node's round folder) as if
    ``fraction`` of its segments (at least one) had been skipped: their records repeat the
    loss before them with empty gradient projections, and their end checkpoint is their start
    (the weights did not move). Claims every step; the adapter stays the honest one."""
    from trainer.replay import ReplayRecord, records_root

    path = out_dir / BUNDLE_FILE
    bundle = json.loads(path.read_text())
    records = [ReplayRecord.from_json(r) for r in bundle["records"]]
    segments: list[tuple[int, int]] = []
    for r in records:
        if segments and (records[segments[-1][0]].epoch, records[segments[-1][0]].start) == (
            r.epoch,
            r.start,
        ):
            segments[-1] = (segments[-1][0], r.step + 1)
        else:
            segments.append((r.step, r.step + 1))
    gen = torch.Generator().manual_seed(seed)
    count = max(1, round(fraction * len(segments)))
    skipped = sorted(torch.randperm(len(segments), generator=gen)[:count].tolist())
    for index in skipped:
        lo, hi = segments[index]
        loss = records[lo - 1].loss if lo > 0 else records[lo].loss * 1.01
        for step in range(lo, hi):
            r = records[step]
            zeros = torch.zeros(len(r.projection))
            records[step] = ReplayRecord.make(r.step, r.epoch, loss, zeros, r.start, r.start)
    bundle["records"] = [r.to_json() for r in records]
    path.write_text(json.dumps(bundle))
    logger.warning("partial cheat skipped segments %s of %d", skipped, len(segments))
    return trained.model_copy(update={"replay_root": records_root(records)})


def false_mode(trained: TrainedRound, out_dir: Path) -> TrainedRound:
    """Claim the local-GPU mode (0) and say ``cuda`` in the bundle in ``out_dir``."""
    path = out_dir / BUNDLE_FILE
    bundle = json.loads(path.read_text())
    bundle["device"] = "cuda"
    path.write_text(json.dumps(bundle))
    return trained.model_copy(update={"execution_mode": 0})


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
    if kind in ("copy", "copygrad") and copy_from is None:
        raise CheatError("the copy cheat needs LORANET_CHEAT_COPY_FROM (a node's data dir).")
    if kind in ("lazy", "scale", "drift") and base is None:
        raise CheatError(f"the {kind} cheat needs the round's base adapter.")
    logger.warning("this worker CHEATS (%s): for tests and demos only", kind)

    def _source(pool_id: int, round: int) -> Path:
        assert copy_from is not None
        marker = copy_from / "rounds" / str(pool_id) / str(round) / "trained.json"
        deadline = time.monotonic() + copy_wait_s
        while not marker.is_file():
            if time.monotonic() > deadline:
                raise CheatError(
                    f"nothing to copy: {marker} did not appear in {copy_wait_s:.0f} s."
                )
            time.sleep(0.5)
        return TrainedRound.model_validate_json(marker.read_text()).adapter_path.parent

    def _train(pool_id: int, round: int, out_dir: Path) -> TrainedRound:
        logger.warning("cheating (%s) in pool %d round %d", kind, pool_id, round)
        if kind == "copy":
            assert copy_from is not None
            return copy(
                copy_from, out_dir, node=node, pool_id=pool_id, round=round, wait_s=copy_wait_s
            )
        if kind in ("lazy", "scale", "drift"):
            assert base is not None
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
        seed = pool_id * 1_000_003 + round
        if kind == "inflate":
            return inflate(trained)
        if kind == "partial":
            return partial(trained, out_dir, seed=seed)
        if kind == "falsemode":
            return false_mode(trained, out_dir)
        if kind == "copygrad":
            return contribution_cheats.copy_grad(trained, out_dir, _source(pool_id, round))
        if kind == "scalegrad":
            return contribution_cheats.scale_grad(trained, out_dir)
        if kind == "poison":
            return contribution_cheats.poison(trained, out_dir)
        if kind == "scale":
            assert base is not None
            return scale(trained, base(pool_id, round), out_dir, factor=SCALE_FACTOR)
        if kind == "drift":
            assert base is not None
            return drift(trained, base(pool_id, round), out_dir, seed=seed)
        return noise(trained, out_dir, seed=seed)

    return _train
