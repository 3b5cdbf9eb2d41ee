"""The outer step of a DiLoCo round over hivemind (after OpenDiLoCo's ``hivemind_diloco.py``).

Each peer keeps ``A_global`` (the weights every peer of the round agreed on at the start of
the outer step) beside its working LoRA weights ``A_local``, which the inner optimizer moves
for ``inner_steps`` steps. :meth:`OuterSync.sync` then

1. loads the pseudo-gradient ``A_global - A_local`` into a ``hivemind.DecentralizedAverager``
   (one tensor per LoRA parameter, compressed on the wire with the pool's ``compression``);
2. all-reduces it with the round's members: matchmaking waits for a full group of the round's
   members (``target_group_size``) for up to ``sync_wait`` seconds, then goes on with whoever
   joined (a dead peer costs the others ``sync_wait``, never a hang);
3. applies an outer SGD step with Nesterov momentum to ``A_global`` using the averaged
   pseudo-gradient as its gradient, and copies ``A_global`` into the working weights.

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


def bytes_per_value(kind: str) -> float:
    """Bytes one fp32 value takes on the wire under ``kind`` (payload only)."""
    return {"none": 4.0, "float16": 2.0, "uint8": 1.0}[kind]


def allreduce_limit_bytes(group_size: int, numel: int, value_bytes: float = 4.0) -> float:
    """The all-reduce lower bound of bytes one peer sends: ``2 (n - 1) / n`` x the tensors."""
    if group_size <= 1:
        return 0.0
    return 2.0 * (group_size - 1) / group_size * numel * value_bytes


@dataclass(frozen=True)
class SyncOutcome:
    """One outer step as this peer saw it."""

    epoch: int
    group_size: int  # peers in the all-reduce (1: nobody joined, the peer stepped alone)
    seconds: float


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
        self.outer = torch.optim.SGD(
            self.global_params, lr=d.outer_lr, momentum=d.outer_momentum, nesterov=True
        )
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
        pseudo = [g.detach() - p.detach().to("cpu", torch.float32) for g, p in self.step_pairs()]
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
        for g, a in zip(self.global_params, averaged, strict=True):
            g.grad = a.clone()
        self.outer.step()
        self.outer.zero_grad(set_to_none=True)
        for p, g in zip(self.params, self.global_params, strict=True):
            p.copy_(g.detach().to(p.device, p.dtype))
        seconds = time.perf_counter() - started
        logger.info("outer step %d group=%d took %.2fs", epoch, group, seconds)
        return SyncOutcome(epoch, group, seconds)

    def step_pairs(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return list(zip(self.global_params, self.params, strict=True))

    def shutdown(self) -> None:
        if self.averager is not None:
            self.averager.shutdown()
            self.averager = None
