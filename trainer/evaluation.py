"""Held-out evaluation: token-weighted cross-entropy and perplexity, base vs base+adapter."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from trainer.artifacts import load_adapter_state
from trainer.config import TrainConfig
from trainer.data import IGNORE_INDEX, Batch, Shard, TrainingData
from trainer.models import (
    attach_lora,
    build_base_model,
    build_tokenizer,
    load_lora_state,
    lora_state,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalResult:
    """Mean loss per predicted token over the held-out split, and its perplexity."""

    loss: float
    perplexity: float
    tokens: int


@dataclass(frozen=True)
class EvalComparison:
    base: EvalResult
    adapted: EvalResult

    @property
    def improvement(self) -> float:
        """Relative loss reduction of the adapter over the base (0.2 = 20% lower)."""
        return (self.base.loss - self.adapted.loss) / self.base.loss


@torch.no_grad()
def evaluate_batches(model: torch.nn.Module, batches: Iterable[Batch]) -> EvalResult:
    """Token-weighted next-token loss of ``model`` over ``batches``, in their order (fp32
    sums in a fixed order: the same inputs give the same number on a machine)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for batch in batches:
        logits = model(
            input_ids=batch.input_ids.to(device), attention_mask=batch.attention_mask.to(device)
        ).logits
        targets = batch.labels[:, 1:].to(device)
        losses = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
            targets.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction="sum",
        )
        total += float(losses)
        count += int((targets != IGNORE_INDEX).sum())
    model.train(was_training)
    loss = total / max(count, 1)
    return EvalResult(loss=loss, perplexity=math.exp(min(loss, 50.0)), tokens=count)


def evaluate_loss(model: torch.nn.Module, shard: Shard, batch_size: int = 64) -> EvalResult:
    """Token-weighted next-token loss of ``model`` on every example of ``shard``."""
    return evaluate_batches(model, shard.batches(batch_size))


def evaluate_adapters(
    cfg: TrainConfig, adapters: dict[str, Path | None], *, heldout: Shard | None = None
) -> dict[str, EvalResult]:
    """Held-out loss for each named adapter (``None`` = the base model alone)."""
    if heldout is None:
        heldout = TrainingData(cfg.data, build_tokenizer(cfg.model)).heldout()
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    fresh = lora_state(model)  # the seeded, zero-effect adapter (lora_B = 0)
    results: dict[str, EvalResult] = {}
    for name, path in adapters.items():
        load_lora_state(model, fresh if path is None else load_adapter_state(path))
        results[name] = evaluate_loss(model, heldout)
        logger.info("eval name=%s loss=%.4f", name, results[name].loss)
    return results


def compare_base_and_adapter(cfg: TrainConfig, adapter: Path) -> EvalComparison:
    """Held-out loss of the base model (zero adapter) and of base + ``adapter``."""
    res = evaluate_adapters(cfg, {"base": None, "adapted": adapter})
    return EvalComparison(base=res["base"], adapted=res["adapted"])
