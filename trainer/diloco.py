"""The outer step of a DiLoCo round over hivemind (after OpenDiLoCo's ``hivemind_diloco.py``).

Each peer keeps ``A_global`` (the weights every peer of the round agreed on at the start of
the outer step) beside its working LoRA weights ``A_local``, which the inner optimizer moves
for ``inner_steps`` steps. :meth:`OuterSync.sync` then

1. loads the pseudo-gradient ``A_global - A_local`` into a ``hivemind.DecentralizedAverager``
   (one tensor per LoRA parameter, compressed on the wire with the pool's ``compression``);
2. all-reduces it with the round's members: matchmaking waits for a full group of the round's
   members (``target_group_size``) for up to ``sync_wait`` seconds, then goes on with whoever
   joined (a dead peer costs the others ``sync_wait``, never a hang);
3. applies an outer SGD step (the pool's ``outer_lr``; ``outer_momentum``, Nesterov or heavy
   ball, none by default) to ``A_global`` using the averaged pseudo-gradient as its gradient,
   and copies ``A_global`` into the working weights.

**Bounded influence.** hivemind averages whatever each peer sends, weighted by the weight the
sender itself declares, so one peer could push an arbitrary vector into everyone's outer step.
An honest pseudo-gradient cannot: it is the sum of ``inner_steps`` AdamW steps, and one AdamW
step moves a coordinate by at most ``lr * ((1 - b1) / sqrt(1 - b2) + wd * |w|)`` whatever the
gradients were. Before the outer step every peer clamps the averaged pseudo-gradient to that
bound (:func:`pseudo_gradient_bound`, computed from ``A_global`` which all peers share, so
they all clamp alike and stay equal); a poisoned contribution then moves the weights no more
than the most extreme honest one could, and the clamped coordinates are logged and counted
(:attr:`SyncOutcome.clipped`).

Unlike OpenDiLoCo we do not subclass ``hivemind.Optimizer``: only the averager is used, the
state averager and its redundant parameter averaging are not (all peers apply the same outer
step to the same ``A_global``, so their weights stay equal up to the compression error of the
all-reduce), and progress is published once per outer step by the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from trainer.config import TrainConfig

logger = logging.getLogger(__name__)


def make_compression(kind: str) -> Any:
    """hivemind's compression for the pool's ``compression`` setting."""
    from hivemind.compression import Float16Compression, NoCompression, Uniform8BitQuantization

    return {
        "none": NoCompression,
        "float16": Float16Compression,
        "uint8": Uniform8BitQuantization,
    }[kind]()


#: bound on ``|AdamW step| / lr`` for any gradient history: ``(1 - b1) / sqrt(1 - b2)`` = 3.16
#: with torch's default betas (0.9, 0.999), rounded up
ADAM_STEP_BOUND = 4.0


def pseudo_gradient_bound(cfg: TrainConfig, global_params: Sequence[torch.Tensor]) -> float:
    """Largest ``|coordinate|`` an honest pseudo-gradient can have: ``inner_steps`` AdamW
    steps from ``A_global`` (weight decay pulls at most ``wd * |w|`` more per step)."""
    n, lr, wd = cfg.diloco.inner_steps, cfg.learning_rate, cfg.weight_decay
    wmax = max((float(g.detach().abs().max()) for g in global_params if g.numel()), default=0.0)
    return n * lr * (ADAM_STEP_BOUND + wd * (wmax + n * lr * ADAM_STEP_BOUND))


def bound_pseudo_gradient(
    tensors: Sequence[torch.Tensor], bound: float
) -> tuple[list[torch.Tensor], int]:
    """``tensors`` clamped to ``[-bound, bound]`` (NaN -> 0) and how many coordinates were
    outside (none for an average of honest pseudo-gradients)."""
    out, clipped = [], 0
    for t in tensors:
        outside = ~(t.abs() <= bound)  # NaN counts as outside
        clipped += int(outside.sum())
        out.append(torch.nan_to_num(t, nan=0.0).clamp(-bound, bound))
    return out, clipped


def bytes_per_value(kind: str) -> float:
    """Bytes one fp32 value takes on the wire under ``kind`` (payload only)."""
    return {"none": 4.0, "float16": 2.0, "uint8": 1.0}[kind]


def allreduce_limit_bytes(group_size: int, numel: int, value_bytes: float = 4.0) -> float:
    """The all-reduce lower bound of bytes one peer sends: ``2 (n - 1) / n`` x the tensors."""
    if group_size <= 1:
        return 0.0
    return 2.0 * (group_size - 1) / group_size * numel * value_bytes


def make_outer_optimizer(global_params: Sequence[torch.Tensor], cfg: TrainConfig) -> Any:
    """The outer optimizer of a round over ``A_global``: SGD with the pool's ``outer_lr`` and
    ``outer_momentum`` (Nesterov unless ``outer_nesterov`` is off; none without momentum)."""
    d = cfg.diloco
    return torch.optim.SGD(
        list(global_params),
        lr=d.outer_lr,
        momentum=d.outer_momentum,
        nesterov=d.outer_nesterov and d.outer_momentum > 0,
    )


@dataclass(frozen=True)
class SyncOutcome:
    """One outer step as this peer saw it."""

    epoch: int
    group_size: int  # peers in the all-reduce (1: nobody joined, the peer stepped alone)
    seconds: float
    clipped: int = 0  # coordinates of the average outside the honest bound (a poisoned peer)


class OuterSync:
    """The averager, ``A_global`` and the outer optimizer of one peer's round."""

    def __init__(
        self,
        cfg: TrainConfig,
        *,
        dht: Any,
        run_id: str,
        params: Sequence[torch.nn.Parameter],
        group_size: int,
    ) -> None:
        from hivemind.averaging import DecentralizedAverager

        self.cfg = cfg
        self.params = list(params)
        self.group_size = group_size
        d, h = cfg.diloco, cfg.hivemind
        self.global_params = [p.detach().clone().to("cpu", torch.float32) for p in self.params]
        for g in self.global_params:
            g.requires_grad_(True)
        self.outer = make_outer_optimizer(self.global_params, cfg)
        self.averager = None
        if group_size > 1:
            self.averager = DecentralizedAverager(
                averaged_tensors=[torch.zeros_like(g) for g in self.global_params],
                dht=dht,
                prefix=f"{run_id}_diloco",
                start=True,
                target_group_size=group_size,
                min_group_size=2,
                min_matchmaking_time=d.sync_wait,
                request_timeout=min(3.0, d.sync_wait / 2),
                allreduce_timeout=h.averaging_timeout,
                next_chunk_timeout=h.averaging_timeout,
                compression=make_compression(d.compression),
                allow_state_sharing=False,
                shutdown_timeout=2.0,
            )

    @torch.no_grad()
    def sync(self, epoch: int, weight: float) -> SyncOutcome:
        """All-reduce the pseudo-gradient, take the outer step, reset the working weights."""
        started = time.perf_counter()
        pseudo = self.pseudo_gradient()
        group = 1
        averaged = pseudo
        if self.averager is not None:
            with self.averager.get_tensors() as tensors:
                for t, value in zip(tensors, pseudo, strict=True):
                    t.copy_(value)
            d = self.cfg.diloco
            try:
                gathered = self.averager.step(
                    weight=float(weight),
                    timeout=d.sync_wait + self.cfg.hivemind.averaging_timeout,
                    allow_retries=True,
                )
            except Exception as err:  # a failed round: step on our own pseudo-gradient
                logger.warning("outer step %d: all-reduce failed (%s); stepping alone", epoch, err)
                gathered = None
            if gathered:
                group = len(gathered)
                with self.averager.get_tensors() as tensors:
                    averaged = [t.clone() for t in tensors]
        clipped = self.apply(epoch, averaged)
        seconds = time.perf_counter() - started
        logger.info("outer step %d group=%d took %.2fs", epoch, group, seconds)
        return SyncOutcome(epoch, group, seconds, clipped)

    @torch.no_grad()
    def pseudo_gradient(self) -> list[torch.Tensor]:
        """``A_global - A_local`` of each LoRA parameter (fp32, on the CPU)."""
        return [g.detach() - p.detach().to("cpu", torch.float32) for g, p in self.step_pairs()]

    @torch.no_grad()
    def apply(self, epoch: int, averaged: Sequence[torch.Tensor]) -> int:
        """The outer step on the averaged pseudo-gradient: clamp it to the honest bound, step
        ``A_global`` with the outer optimizer, copy ``A_global`` into the working weights.
        Returns how many coordinates were clamped. (``bench/diloco_sweep.py`` calls this on
        an in-process average to simulate rounds without hivemind.)"""
        bounded, clipped = bound_pseudo_gradient(
            averaged, pseudo_gradient_bound(self.cfg, self.global_params)
        )
        if clipped:
            logger.warning(
                "outer step %d: %d coordinates of the averaged pseudo-gradient exceed what an "
                "honest peer can send; clamped (a poisoned contribution)",
                epoch,
                clipped,
            )
        for g, a in zip(self.global_params, bounded, strict=True):
            g.grad = a.clone()
        self.outer.step()
        self.outer.zero_grad(set_to_none=True)
        for p, g in zip(self.params, self.global_params, strict=True):
            p.copy_(g.detach().to(p.device, p.dtype))
        return clipped

    def step_pairs(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return list(zip(self.global_params, self.params, strict=True))

    def shutdown(self) -> None:
        if self.averager is not None:
            self.averager.shutdown()
            self.averager = None
