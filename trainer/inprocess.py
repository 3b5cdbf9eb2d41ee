"""DiLoCo rounds of several nodes in one process, with an exact mean for the all-reduce.

For tests and benchmarks that need many honest rounds cheaply (no hivemind, no p2pd): every
node runs the trainer's own inner steps (:class:`trainer.inner.InnerTrainer`: the same
batches, inner AdamW, replay records and checkpoints as a networked node), then each node takes
the trainer's own outer step (:meth:`trainer.diloco.OuterSync.apply`: the honest bound, the
pool's outer optimizer) on the exact mean of the nodes' pseudo-gradients
(:meth:`~trainer.diloco.OuterSync.pseudo_gradient`; what the all-reduce computes, without its
wire compression). The nodes therefore end with identical adapters, as networked peers do up
to the compression error. Networked
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
from trainer.diloco import OuterSync
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
    syncs = [OuterSync(cfg, dht=None, run_id="inprocess", params=ps, group_size=1) for ps in params]
    records: list[list[ReplayRecord]] = [[] for _ in range(nodes)]
    step = 0
    for epoch, n in enumerate(outer_steps(cfg)):
        for i in range(nodes):
            records[i] += trainers[i].run(shards[i], epoch=epoch, first_step=step, n=n)
        step += n
        pseudo = [sync.pseudo_gradient() for sync in syncs]
        mean = [sum(ts, torch.zeros_like(ts[0])) / nodes for ts in zip(*pseudo, strict=True)]
        clipped = sum(sync.apply(epoch, mean) for sync in syncs)
        assert clipped == 0, "an honest average is never clamped"
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
