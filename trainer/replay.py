"""Replay records: one per local step, committed by a Merkle root, spot-checked by validators.

A record holds the step number, the hivemind epoch it ran in, the loss and a seeded
CountSketch projection of the node's local LoRA gradient (``projection_dim`` numbers). Within
one hivemind epoch the LoRA weights do not move (gradients accumulate until the swarm reaches
``target_batch_size``; averaging is synchronous), so a validator holding the node's adapter
checkpoint of that epoch and the node's deterministic batch for the step can recompute the
same loss and gradient, and compare:

* ``|loss - loss'| / max(|loss'|, 1e-8) <= max_loss_rel_diff``, and
* ``cosine(projection, projection') >= min_cosine``.

CountSketch: coordinate ``i`` of the flattened gradient (parameters in sorted name order) is
added, with sign ``s(i)``, into bucket ``h(i)``; ``h`` and ``s`` come from a generator seeded by
``(projection_seed, parameter name)``. It preserves inner products in expectation, costs
O(number of LoRA weights) and needs no dense matrix.
"""

from __future__ import annotations

import json
import logging
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from trainer.artifacts import load_adapter_state
from trainer.config import TrainConfig
from trainer.data import Batch, Shard
from trainer.errors import ReplayError
from trainer.merkle import merkle_proof, merkle_root, verify_proof
from trainer.models import (
    attach_lora,
    build_base_model,
    load_lora_state,
    lora_named_parameters,
    seeded_generator,
)

if TYPE_CHECKING:
    from peft import PeftModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayRecord:
    """What a node commits to for one local step."""

    step: int
    epoch: int
    loss: float
    projection: tuple[float, ...]

    def leaf_bytes(self) -> bytes:
        """Canonical leaf: big-endian u64 step, u64 epoch, f64 loss, u32 dim, f32 projection."""
        head = struct.pack(">QQdI", self.step, self.epoch, self.loss, len(self.projection))
        return head + struct.pack(f">{len(self.projection)}f", *self.projection)

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "loss": self.loss,
            "projection": list(self.projection),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplayRecord:
        projection = tuple(float(x) for x in data["projection"])
        return cls(int(data["step"]), int(data["epoch"]), float(data["loss"]), projection)

    @classmethod
    def make(cls, step: int, epoch: int, loss: float, projection: torch.Tensor) -> ReplayRecord:
        """A record whose projection is rounded to float32 (what the leaf commits to)."""
        return cls(step, epoch, float(loss), tuple(projection.float().tolist()))


def records_root(records: Sequence[ReplayRecord]) -> str:
    """``0x`` hex Merkle root over the records, which must be in step order 0, 1, 2, ..."""
    if [r.step for r in records] != list(range(len(records))):
        raise ReplayError("Replay records must be consecutive steps starting at 0.")
    return "0x" + merkle_root([r.leaf_bytes() for r in records]).hex()


def record_proof(records: Sequence[ReplayRecord], step: int) -> list[str]:
    """The audit path (``0x`` hex) opening the record of ``step`` against :func:`records_root`."""
    return ["0x" + h.hex() for h in merkle_proof([r.leaf_bytes() for r in records], step)]


def verify_record(record: ReplayRecord, n_records: int, proof: Sequence[str], root: str) -> bool:
    """True when ``record`` is the record of its step under ``root``."""
    try:
        path = [bytes.fromhex(h.removeprefix("0x")) for h in proof]
        root_bytes = bytes.fromhex(root.removeprefix("0x"))
    except ValueError:
        return False
    return verify_proof(record.leaf_bytes(), record.step, n_records, path, root_bytes)


def save_records(records: Sequence[ReplayRecord], path: Path) -> None:
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))


def load_records(path: Path) -> list[ReplayRecord]:
    return [ReplayRecord.from_json(json.loads(ln)) for ln in path.read_text().splitlines() if ln]


class GradientProjector:
    """Seeded CountSketch of the LoRA gradient down to ``dim`` numbers."""

    def __init__(self, named_shapes: Sequence[tuple[str, torch.Size]], dim: int, seed: int) -> None:
        self.dim = dim
        self._buckets: list[torch.Tensor] = []
        self._signs: list[torch.Tensor] = []
        for name, shape in sorted(named_shapes, key=lambda item: item[0]):
            numel = math.prod(shape)
            gen = seeded_generator("countsketch", seed, name)
            self._buckets.append(torch.randint(0, dim, (numel,), generator=gen))
            self._signs.append(torch.randint(0, 2, (numel,), generator=gen).float() * 2 - 1)

    @classmethod
    def for_model(cls, model: torch.nn.Module, dim: int, seed: int) -> GradientProjector:
        shapes = [(n, p.shape) for n, p in lora_named_parameters(model)]
        return cls(shapes, dim, seed)

    def project(self, grads: Sequence[torch.Tensor]) -> torch.Tensor:
        """Project gradients given in sorted parameter-name order."""
        if len(grads) != len(self._buckets):
            raise ReplayError(f"Expected {len(self._buckets)} gradients, got {len(grads)}.")
        out = torch.zeros(self.dim, dtype=torch.float64)
        for grad, buckets, signs in zip(grads, self._buckets, self._signs, strict=True):
            values = grad.detach().reshape(-1).to("cpu", torch.float64) * signs.double()
            out.index_add_(0, buckets, values)
        return out


def step_loss_and_grads(model: torch.nn.Module, batch: Batch) -> tuple[float, list[torch.Tensor]]:
    """Forward and backward one batch; return the loss and LoRA gradients (sorted names).

    Leaves the gradients in ``param.grad`` (the training loop hands them to hivemind).
    """
    params = [p for _, p in lora_named_parameters(model)]
    for p in params:
        p.grad = None
    device = params[0].device
    out = model(
        input_ids=batch.input_ids.to(device),
        attention_mask=batch.attention_mask.to(device),
        labels=batch.labels.to(device),
    )
    out.loss.backward()
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    return float(out.loss.item()), grads


def cosine(a: Sequence[float] | torch.Tensor, b: Sequence[float] | torch.Tensor) -> float:
    ta = torch.as_tensor(a, dtype=torch.float64)
    tb = torch.as_tensor(b, dtype=torch.float64)
    denom = float(ta.norm() * tb.norm())
    return (
        float(ta @ tb) / denom if denom > 0 else (1.0 if float(ta.norm() + tb.norm()) == 0 else 0.0)
    )


@dataclass(frozen=True)
class ReplayVerdict:
    """The outcome of one replay check."""

    accepted: bool
    step: int
    claimed_loss: float
    replayed_loss: float
    loss_rel_diff: float
    cosine: float
    reason: str


class ReplayChecker:
    """Holds one model (base + LoRA) and checks records against adapter checkpoints."""

    def __init__(self, cfg: TrainConfig, *, model: PeftModel | None = None) -> None:
        self.cfg = cfg
        self.model = (
            model if model is not None else attach_lora(build_base_model(cfg.model), cfg.model)
        )
        self.model.eval()  # dropout off: the replay must be deterministic
        self.projector = GradientProjector.for_model(
            self.model, cfg.replay.projection_dim, cfg.replay.projection_seed
        )

    def check(
        self, adapter_at_epoch: Path, shard: Shard, step: int, record: ReplayRecord
    ) -> ReplayVerdict:
        if record.step != step:
            raise ReplayError(f"The record is for step {record.step}, not step {step}.")
        if len(record.projection) != self.projector.dim:
            return self._reject(record, math.nan, math.inf, 0.0, "projection has the wrong size")
        load_lora_state(self.model, load_adapter_state(adapter_at_epoch))
        loss, grads = step_loss_and_grads(self.model, shard.batch(step, self.cfg.batch_size))
        for _, p in lora_named_parameters(self.model):
            p.grad = None
        replayed = self.projector.project(grads)
        rel = abs(record.loss - loss) / max(abs(loss), 1e-8)
        cos = cosine(record.projection, replayed)
        limits = self.cfg.replay
        if not math.isfinite(record.loss) or rel > limits.max_loss_rel_diff:
            return self._reject(record, loss, rel, cos, f"loss differs by {rel:.2e} (relative)")
        if cos < limits.min_cosine:
            return self._reject(record, loss, rel, cos, f"gradient cosine {cos:.4f} too low")
        return ReplayVerdict(True, step, record.loss, loss, rel, cos, "replay matches")

    @staticmethod
    def _reject(
        record: ReplayRecord, loss: float, rel: float, cos: float, why: str
    ) -> ReplayVerdict:
        logger.info("replay rejected step=%d reason=%s", record.step, why)
        return ReplayVerdict(False, record.step, record.loss, loss, rel, cos, why)


def replay_check(
    cfg: TrainConfig, adapter_at_epoch: Path, shard: Shard, step: int, record: ReplayRecord
) -> ReplayVerdict:
    """Recompute ``step`` of ``shard`` from the epoch's adapter and compare it with ``record``.

    Builds a model per call; validators checking many records reuse a :class:`ReplayChecker`.
    """
    return ReplayChecker(cfg).check(adapter_at_epoch, shard, step, record)
