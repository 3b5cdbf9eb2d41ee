"""Replay records: one per inner step, committed by a Merkle root, spot-checked by validators.

A record holds the step number, the outer step (``epoch``) it ran in, the loss, a seeded
CountSketch projection of the node's LoRA gradient (``projection_dim`` numbers) and the hashes
of the two training-state checkpoints around its *segment*. In a DiLoCo round the weights move
at every inner step, so the node saves a checkpoint — LoRA weights plus the inner AdamW state,
:func:`save_state` — at the start of every outer step and every ``checkpoint_every`` inner
steps, and at the end of every outer step (before the all-reduce). A segment is the run of
steps between two checkpoints. The validator loads the segment's start checkpoint, re-runs its
steps on the node's deterministic batches with the same inner optimizer, and compares:

* per step, ``|loss - loss'| / max(|loss'|, 1e-8) <= max_loss_rel_diff`` and
  ``cosine(projection, projection') >= min_cosine``;
* at the end, the replayed weights and the claimed end checkpoint's weights differ by at most
  ``max_state_rel_diff`` relative to the segment's own movement.

So the records bind the whole trajectory: every committed checkpoint must follow from the
previous one by honest steps, and a replay costs at most ``checkpoint_every`` steps.

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

from trainer.artifacts import load_adapter_state, save_adapter
from trainer.config import TrainConfig
from trainer.data import Batch, Shard
from trainer.errors import ReplayError, TrainerError
from trainer.merkle import merkle_proof, merkle_root, verify_proof
from trainer.models import (
    attach_lora,
    build_base_model,
    load_lora_state,
    lora_named_parameters,
    lora_state,
    seeded_generator,
)

if TYPE_CHECKING:
    from peft import PeftModel

logger = logging.getLogger(__name__)


ZERO_DIGEST = "0x" + "00" * 32


@dataclass(frozen=True)
class ReplayRecord:
    """What a node commits to for one inner step.

    ``start`` and ``end`` are the hashes of the training-state checkpoints (LoRA weights and
    inner optimizer state, :func:`save_state`) that open and close the step's segment: the
    validator replays the segment from ``start`` and must land on ``end``.
    """

    step: int
    epoch: int
    loss: float
    projection: tuple[float, ...]
    start: str = ZERO_DIGEST
    end: str = ZERO_DIGEST

    def leaf_bytes(self) -> bytes:
        """Canonical leaf: big-endian u64 step, u64 epoch, f64 loss, u32 dim, f32 projection,
        then the 32-byte start and end checkpoint hashes."""
        head = struct.pack(">QQdI", self.step, self.epoch, self.loss, len(self.projection))
        body = struct.pack(f">{len(self.projection)}f", *self.projection)
        return head + body + _digest_bytes(self.start) + _digest_bytes(self.end)

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "loss": self.loss,
            "projection": list(self.projection),
            "start": self.start,
            "end": self.end,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplayRecord:
        projection = tuple(float(x) for x in data["projection"])
        return cls(
            int(data["step"]),
            int(data["epoch"]),
            float(data["loss"]),
            projection,
            str(data.get("start", ZERO_DIGEST)),
            str(data.get("end", ZERO_DIGEST)),
        )

    @classmethod
    def make(
        cls,
        step: int,
        epoch: int,
        loss: float,
        projection: torch.Tensor,
        start: str = ZERO_DIGEST,
        end: str = ZERO_DIGEST,
    ) -> ReplayRecord:
        """A record whose projection is rounded to float32 (what the leaf commits to)."""
        return cls(step, epoch, float(loss), tuple(projection.float().tolist()), start, end)


def _digest_bytes(digest: str) -> bytes:
    try:
        raw = bytes.fromhex(digest.removeprefix("0x"))
    except ValueError as err:
        raise ReplayError(f"{digest!r} is not a hex hash.") from err
    if len(raw) != 32:
        raise ReplayError(f"{digest!r} is not a 32-byte hash.")
    return raw


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


INNER_PREFIX = "inner."


def make_inner_optimizer(params: Sequence[torch.nn.Parameter], cfg: TrainConfig) -> Any:
    """The inner optimizer of a round (the same on the node and in the replay)."""
    return torch.optim.AdamW(list(params), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)


def training_state(model: torch.nn.Module, inner_opt: Any) -> dict[str, torch.Tensor]:
    """LoRA weights (adapter keys) plus the inner AdamW state under ``inner.``."""
    state = lora_state(model)
    step = 0.0
    for name, param in lora_named_parameters(model):
        st = inner_opt.state.get(param, {})
        for key in ("exp_avg", "exp_avg_sq"):
            value = st.get(key)
            state[f"{INNER_PREFIX}{key}.{name}"] = (
                value.detach().to("cpu", torch.float32).clone()
                if value is not None
                else torch.zeros(param.shape, dtype=torch.float32)
            )
        if "step" in st:
            step = float(st["step"])
    state[f"{INNER_PREFIX}step"] = torch.tensor([step], dtype=torch.float32)
    return state


def save_state(model: torch.nn.Module, inner_opt: Any, path: Path) -> str:
    """Write the training state canonically (a safetensors file); return its hash."""
    return save_adapter(training_state(model, inner_opt), path)


def state_weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The adapter part of a training state (or an adapter unchanged)."""
    return {k: v for k, v in state.items() if not k.startswith(INNER_PREFIX)}


def load_state(model: torch.nn.Module, inner_opt: Any, state: dict[str, torch.Tensor]) -> None:
    """Put a training state into ``model`` and ``inner_opt`` (a state without ``inner.`` keys
    loads the weights and leaves a fresh optimizer)."""
    load_lora_state(model, state_weights(state))
    inner_opt.state.clear()
    step_key = f"{INNER_PREFIX}step"
    step = float(state[step_key].reshape(-1)[0]) if step_key in state else 0.0
    if step <= 0:
        return
    for name, param in lora_named_parameters(model):
        try:
            exp_avg = state[f"{INNER_PREFIX}exp_avg.{name}"]
            exp_avg_sq = state[f"{INNER_PREFIX}exp_avg_sq.{name}"]
        except KeyError as err:
            raise ReplayError(f"The training state lacks {err.args[0]}.") from err
        inner_opt.state[param] = {
            "step": torch.tensor(step, dtype=torch.float32),
            "exp_avg": exp_avg.to(param.device, param.dtype).clone(),
            "exp_avg_sq": exp_avg_sq.to(param.device, param.dtype).clone(),
        }


def relative_distance(
    a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], origin: dict[str, torch.Tensor]
) -> float:
    """``||a - b|| / ||b - origin||`` over every tensor (``inf`` when b did not move and a did)."""
    diff = math.sqrt(sum(float((a[k] - b[k]).double().pow(2).sum()) for k in b))
    moved = math.sqrt(sum(float((b[k] - origin[k]).double().pow(2).sum()) for k in b))
    if moved == 0.0:
        return 0.0 if diff == 0.0 else math.inf
    return diff / moved


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
    """Holds one model (base + LoRA) and checks records against checkpoints: one step at the
    checkpoint's weights (:meth:`check`) or a whole segment (:meth:`check_segment`)."""

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
        load_lora_state(self.model, state_weights(load_adapter_state(adapter_at_epoch)))
        verdict = self._compare(record, shard)
        for _, p in lora_named_parameters(self.model):
            p.grad = None
        return verdict

    def check_segment(
        self, start: Path, end: Path, shard: Shard, records: Sequence[ReplayRecord]
    ) -> ReplayVerdict:
        """Replay one segment: ``records`` are its consecutive steps, ``start``/``end`` the
        checkpoint files their ``start``/``end`` hashes name (already hash-checked)."""
        if not records:
            raise ReplayError("A segment has at least one step.")
        first = records[0].step
        if [r.step for r in records] != list(range(first, first + len(records))):
            raise ReplayError("A segment's records must be consecutive steps.")
        start_state = load_adapter_state(start)
        params = [p for _, p in lora_named_parameters(self.model)]
        inner = make_inner_optimizer(params, self.cfg)
        try:
            load_state(self.model, inner, start_state)
            end_weights = state_weights(load_adapter_state(end))
        except (TrainerError, KeyError) as err:
            return self._reject(records[0], math.nan, math.inf, 0.0, f"bad checkpoint: {err}")
        verdict: ReplayVerdict | None = None
        for record in records:
            verdict = self._compare(record, shard)
            if not verdict.accepted:
                return verdict
            inner.step()
            inner.zero_grad(set_to_none=True)
        assert verdict is not None
        origin = state_weights(start_state)
        if set(end_weights) != set(origin):
            return self._reject(records[-1], math.nan, math.inf, 0.0, "end checkpoint mismatch")
        rel = relative_distance(lora_state(self.model), end_weights, origin)
        if rel > self.cfg.replay.max_state_rel_diff:
            why = f"segment ends {rel:.2e} (relative) away from the claimed checkpoint"
            return self._reject(records[-1], verdict.replayed_loss, rel, verdict.cosine, why)
        return verdict

    def _compare(self, record: ReplayRecord, shard: Shard) -> ReplayVerdict:
        """Forward/backward the record's batch at the model's current weights; compare. The
        gradients stay in ``param.grad`` (the segment replay steps the optimizer on them)."""
        if len(record.projection) != self.projector.dim:
            return self._reject(record, math.nan, math.inf, 0.0, "projection has the wrong size")
        loss, grads = step_loss_and_grads(self.model, shard.batch(record.step, self.cfg.batch_size))
        replayed = self.projector.project(grads)
        rel = abs(record.loss - loss) / max(abs(loss), 1e-8)
        cos = cosine(record.projection, replayed)
        limits = self.cfg.replay
        if not math.isfinite(record.loss) or rel > limits.max_loss_rel_diff:
            return self._reject(record, loss, rel, cos, f"loss differs by {rel:.2e} (relative)")
        if cos < limits.min_cosine:
            return self._reject(record, loss, rel, cos, f"gradient cosine {cos:.4f} too low")
        return ReplayVerdict(True, record.step, record.loss, loss, rel, cos, "replay matches")

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
