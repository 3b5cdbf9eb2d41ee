"""The inner steps of a DiLoCo outer step, with their replay records and checkpoints.

:class:`InnerTrainer` owns the inner optimizer (AdamW, :func:`trainer.replay.make_inner_optimizer`)
of one node's round. :meth:`InnerTrainer.run` trains ``n`` steps on the node's deterministic
batches, saving a training-state checkpoint at the start, every ``checkpoint_every`` steps
and at the end, and returns one :class:`~trainer.replay.ReplayRecord` per step committing to
its segment's start and end checkpoints. ``trainer.collab`` calls it between all-reduces; the
tests and benchmarks call it to train without a network.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from trainer.artifacts import adapter_hash, canonical_adapter_bytes
from trainer.config import TrainConfig
from trainer.models import lora_named_parameters
from trainer.replay import (
    GradientProjector,
    ReplayRecord,
    make_inner_optimizer,
    step_loss_and_grads,
    training_state,
)

logger = logging.getLogger(__name__)

#: ``(step, loss)`` after each inner step
StepHook = Callable[[int, float], None]


class InnerTrainer:
    """Inner optimizer, gradient projector and checkpoint folder of one node's round."""

    def __init__(self, cfg: TrainConfig, model: torch.nn.Module, checkpoint_dir: Path) -> None:
        self.cfg = cfg
        self.model = model
        self.params = [p for _, p in lora_named_parameters(model)]
        self.inner = make_inner_optimizer(self.params, cfg)
        self.projector = GradientProjector.for_model(
            model, cfg.replay.projection_dim, cfg.replay.projection_seed
        )
        self.dir = Path(checkpoint_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.checkpoints: dict[str, Path] = {}
        self.compute_s = 0.0
        self.checkpoint_s = 0.0

    def checkpoint(self) -> str:
        """Save the current training state; its hash (the file is ``<hash hex>.safetensors``).

        Canonical bytes as :func:`trainer.replay.save_state` writes them, but without an
        fsync per file: a round that crashes is trained again, and the checkpoints are
        published (and hash-checked by whoever fetches them) only after the round.
        """
        t0 = time.perf_counter()
        data = canonical_adapter_bytes(training_state(self.model, self.inner))
        digest = adapter_hash(data)
        path = self.dir / f"{digest.removeprefix('0x')}.safetensors"
        tmp = self.dir / "state.tmp"
        tmp.write_bytes(data)
        tmp.replace(path)
        self.checkpoints[digest] = path
        self.checkpoint_s += time.perf_counter() - t0
        return digest

    def run(
        self, shard: Any, *, epoch: int, first_step: int, n: int, on_step: StepHook | None = None
    ) -> list[ReplayRecord]:
        """Train steps ``first_step .. first_step + n - 1`` of outer step ``epoch``."""
        every = self.cfg.replay.checkpoint_every
        records: list[ReplayRecord] = []
        segment: list[tuple[int, float, torch.Tensor]] = []
        start = self.checkpoint()
        for h in range(n):
            step = first_step + h
            t0 = time.perf_counter()
            loss, grads = step_loss_and_grads(self.model, shard.batch(step, self.cfg.batch_size))
            projection = self.projector.project(grads)
            self.inner.step()
            self.inner.zero_grad(set_to_none=True)
            self.compute_s += time.perf_counter() - t0
            segment.append((step, loss, projection))
            if (h + 1) % every == 0 or h + 1 == n:
                end = self.checkpoint()
                records += [
                    ReplayRecord.make(s, epoch, lo, pr, start, end) for s, lo, pr in segment
                ]
                segment, start = [], end
            if on_step is not None:
                on_step(step, loss)
        return records
