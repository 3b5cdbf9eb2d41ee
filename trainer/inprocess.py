"""DiLoCo rounds of several nodes in one process, with an exact mean for the all-reduce.

For tests and benchmarks that need many honest rounds cheaply (no hivemind, no p2pd): every
node runs the trainer's own inner steps (:class:`trainer.inner.InnerTrainer`: the same
batches, inner AdamW, replay records and checkpoints as a networked node), then the outer step
of :mod:`trainer.diloco` is applied with the exact mean of the nodes' pseudo-gradients (what the
all-reduce computes, without its wire compression), clamped to the honest bound, by one shared
outer optimizer (the pool's: :func:`trainer.diloco.make_outer_optimizer`). The nodes therefore
end with identical adapters, as networked peers do up to the compression error. Networked
rounds are :func:`trainer.collab.train_round`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from trainer.artifacts import load_adapter_state, save_adapter
from trainer.collab import outer_steps
from trainer.config import TrainConfig
from trainer.data import Shard, TrainingData
from trainer.diloco import bound_pseudo_gradient, make_outer_optimizer, pseudo_gradient_bound
from trainer.inner import InnerTrainer
from trainer.models import (
    attach_lora,
    build_base_model,
    build_tokenizer,
    load_lora_state,
    lora_named_parameters,
)
from trainer.replay import ReplayRecord, records_root, save_records

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeRound:
    """One node's output of an in-process round (as a networked node publishes it)."""

    node_index: int
    node_count: int
    adapter_path: Path
    records: list[ReplayRecord]
    records_root: str
    checkpoints: dict[str, Path]  # hash -> training-state file
    shard: Shard
    compute_seconds: float  # inner steps (forward, backward, optimizer), checkpoints apart


def train_inprocess_round(
    cfg: TrainConfig,
    *,
    nodes: int,
    out_root: Path,
    pool_id: int = 0,
    round: int = 0,
    base_adapter: Path | None = None,
    data: TrainingData | None = None,
) -> list[NodeRound]:
    """Train one DiLoCo round of ``nodes`` nodes (shards ``i`` of ``nodes``); see the module
    doc. Each node's files go to ``out_root/node<i>``."""
    data = data if data is not None else TrainingData(cfg.data, build_tokenizer(cfg.model))
    models, trainers, shards = [], [], []
    for i in range(nodes):
        model = attach_lora(build_base_model(cfg.model), cfg.model)
        if base_adapter is not None:
            load_lora_state(model, load_adapter_state(base_adapter))
        model.train()
        models.append(model)
        trainers.append(InnerTrainer(cfg, model, Path(out_root) / f"node{i}" / "checkpoints"))
        shards.append(data.shard(pool_id, round, i, nodes))
    params = [[p for _, p in lora_named_parameters(m)] for m in models]
    global_params = [p.detach().clone().to("cpu", torch.float32) for p in params[0]]
    for g in global_params:
        g.requires_grad_(True)
    outer = make_outer_optimizer(global_params, cfg)
    records: list[list[ReplayRecord]] = [[] for _ in range(nodes)]
    step = 0
    for epoch, n in enumerate(outer_steps(cfg)):
        for i in range(nodes):
            records[i] += trainers[i].run(shards[i], epoch=epoch, first_step=step, n=n)
        step += n
        with torch.no_grad():
            mean = [
                sum((g - ps[k].detach().float() for ps in params), torch.zeros_like(g)) / nodes
                for k, g in enumerate(global_params)
            ]
            mean, clipped = bound_pseudo_gradient(mean, pseudo_gradient_bound(cfg, global_params))
            assert clipped == 0, "an honest average is never clamped"
            for g, a in zip(global_params, mean, strict=True):
                g.grad = a.clone()
            outer.step()
            outer.zero_grad(set_to_none=True)
            for ps in params:
                for p, g in zip(ps, global_params, strict=True):
                    p.copy_(g.detach().to(p.device, p.dtype))
    out: list[NodeRound] = []
    for i in range(nodes):
        folder = Path(out_root) / f"node{i}"
        adapter = folder / "adapter.safetensors"
        save_adapter(models[i], adapter)
        save_records(records[i], folder / "records.jsonl")
        out.append(
            NodeRound(
                node_index=i,
                node_count=nodes,
                adapter_path=adapter,
                records=records[i],
                records_root=records_root(records[i]),
                checkpoints=dict(trainers[i].checkpoints),
                shard=shards[i],
                compute_seconds=trainers[i].compute_s,
            )
        )
    logger.info("in-process round done nodes=%d steps=%d", nodes, step)
    return out
