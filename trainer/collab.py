"""Collaborative LoRA training over hivemind: DHT, start barrier, one round, progress.

One round of one node (:func:`train_round`):

1. build the base model + LoRA (seeded, identical everywhere), load the round's base adapter;
2. take the node's deterministic shard (:meth:`TrainingData.shard`);
3. join the DHT and wait at a barrier until ``node_count`` peers announced themselves under
   ``<run_id>_ready`` (so no peer trains ahead alone);
4. train with ``hivemind.Optimizer`` over the LoRA parameters only: gradients accumulate
   until the swarm reaches ``target_batch_size``, are averaged (all-reduce), the optimizer
   steps, parameters are averaged (synchronously, so weights never move inside an epoch);
5. before the first step of each hivemind epoch save the adapter as that epoch's checkpoint;
   record one :class:`ReplayRecord` per local step; stop after ``max_epochs`` epochs or
   ``max_local_steps`` steps, whichever comes first;
6. save the final adapter, the records and their Merkle root, and return a
   :class:`RoundResult`.

A peer that dies mid-round only costs the others one failed averaging round (bounded by
``averaging_timeout``): hivemind then proceeds with the peers that answer.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict

from trainer.artifacts import load_adapter_state, save_adapter
from trainer.config import TrainConfig
from trainer.data import TrainingData
from trainer.dht import (
    PeerProgress,
    create_dht,
    linger_for_stragglers,
    read_progress,
    run_id_for,
    visible_maddrs,
    wait_for_peers,
    wait_until_visible,
)
from trainer.models import (
    attach_lora,
    build_base_model,
    build_tokenizer,
    load_lora_state,
    lora_named_parameters,
)
from trainer.replay import (
    GradientProjector,
    ReplayRecord,
    records_root,
    save_records,
    step_loss_and_grads,
)

logger = logging.getLogger(__name__)

__all__ = [
    "PeerProgress",
    "RoundResult",
    "StepProgress",
    "create_dht",
    "read_progress",
    "run_id_for",
    "train_round",
    "visible_maddrs",
]


def _counting_compression(counter: Any) -> Any:
    """``NoCompression`` that adds the size of every tensor part it serialises to ``counter``.

    Hivemind's averagers run in forked processes; ``counter`` is a ``multiprocessing.Value``
    shared with them. Only the parts a peer sends in the reduce-scatter phase pass through
    the compression object; the all-gather phase sends the same amount back, so the bytes a
    peer sends per averaging round are twice the count.
    """
    from hivemind.compression import NoCompression

    class CountingCompression(NoCompression):  # type: ignore[misc]
        def compress(self, tensor: torch.Tensor, info: Any, allow_inplace: bool = False) -> Any:
            message = super().compress(tensor, info, allow_inplace)
            with counter.get_lock():
                counter.value += len(message.buffer)
            return message

    return CountingCompression()


@dataclass(frozen=True)
class StepProgress:
    """Passed to ``on_progress`` after every local step."""

    step: int
    epoch: int
    loss: float
    samples: int


class RoundResult(BaseModel):
    """What one node's round produced (also written to ``<out_dir>/result.json``)."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    peer_id: str
    pool_id: int
    round: int
    node_index: int
    node_count: int
    adapter_path: Path
    adapter_hash: str
    epoch_adapters: dict[int, Path]
    samples: int
    steps: int
    epochs: int
    final_loss: float
    losses: list[float]
    records_path: Path
    records_root: str
    barrier_seconds: float
    compute_seconds: float
    averaging_seconds: float
    total_seconds: float
    bytes_sent: int
    lora_parameters: int
    model_parameters: int


def _make_optimizer(
    cfg: TrainConfig, dht: Any, run_id: str, params: list[Any], counter: Any, node_count: int
) -> Any:
    import hivemind
    from hivemind.optim.grad_averager import GradientAverager

    h = cfg.hivemind
    # hivemind asks for request_timeout < matchmaking_time (else rare matchmaking deadlocks)
    request_timeout = min(3.0, h.matchmaking_time / 2)
    # a group of every node of the run starts its all-reduce as soon as all joined, instead
    # of waiting out matchmaking_time; with fewer peers (one died) it waits, then goes on
    group = {"request_timeout": request_timeout, "target_group_size": max(2, node_count)}
    return hivemind.Optimizer(
        dht=dht,
        run_id=run_id,
        params=params,
        optimizer=partial(torch.optim.AdamW, lr=cfg.learning_rate, weight_decay=cfg.weight_decay),
        batch_size_per_step=cfg.batch_size,
        target_batch_size=h.target_batch_size,
        matchmaking_time=h.matchmaking_time,
        averaging_timeout=h.averaging_timeout,
        average_state_every=h.average_state_every,
        delay_state_averaging=False,  # weights must not move inside an epoch (replay check)
        grad_compression=_counting_compression(counter),
        grad_averager_factory=partial(GradientAverager, **group),
        averager_opts=group,
        state_averaging_compression=_counting_compression(counter),
        tracker_opts={
            "min_refresh_period": 0.1,
            "max_refresh_period": 1.0,
            "default_refresh_period": 0.5,
            "metadata_expiration": h.progress_expiration,
        },
        load_state_timeout=h.averaging_timeout,
        shutdown_timeout=2.0,
        verbose=False,
    )


def train_round(
    cfg: TrainConfig,
    *,
    pool_id: int,
    round: int,
    node_index: int,
    node_count: int,
    initial_peers: Sequence[str],
    base_adapter: Path | None,
    out_dir: Path,
    on_progress: Callable[[StepProgress], None] | None = None,
    dht: Any = None,
) -> RoundResult:
    """Train this node's share of one round with its peers; see the module doc."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    (out_dir / "epochs").mkdir(parents=True, exist_ok=True)
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    if cfg.model.lora_dropout > 0:
        logger.warning("lora_dropout > 0 makes replay checks of this round fail")

    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    shard = data.shard(pool_id, round, node_index, node_count)
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    if base_adapter is not None:
        load_lora_state(model, load_adapter_state(base_adapter))
    model.train()
    named = lora_named_parameters(model)
    params = [p for _, p in named]
    projector = GradientProjector.for_model(
        model, cfg.replay.projection_dim, cfg.replay.projection_seed
    )
    run_id = run_id_for(cfg.hivemind.run_prefix, pool_id, round)
    own_dht = dht is None
    if own_dht:
        dht = create_dht(cfg.hivemind, initial_peers)
    peer_id = str(dht.peer_id)
    counter = mp.Value("q", 0)
    try:
        opt = _make_optimizer(cfg, dht, run_id, params, counter, node_count)
        try:
            t_barrier = time.perf_counter()
            arrived = wait_for_peers(
                dht, run_id, expected=node_count, timeout=cfg.hivemind.barrier_timeout, name=peer_id
            )

            def sync() -> None:
                wait_until_visible(
                    opt,
                    expected=node_count,
                    start_at=arrived + cfg.hivemind.start_delay,
                    timeout=cfg.hivemind.barrier_timeout,
                )

            barrier = time.perf_counter() - t_barrier
            loop = _train_loop(cfg, model, opt, shard, projector, out_dir, on_progress, sync)
            barrier += loop.sync_s
            if cfg.max_epochs is not None:
                linger_for_stragglers(
                    dht, run_id, epoch=cfg.max_epochs, timeout=cfg.hivemind.averaging_timeout
                )
        finally:
            opt.shutdown()
    finally:
        if own_dht:
            dht.shutdown()

    adapter_path = out_dir / "adapter.safetensors"
    digest = save_adapter(model, adapter_path)
    records_path = out_dir / "records.jsonl"
    save_records(loop.records, records_path)
    result = RoundResult(
        run_id=run_id,
        peer_id=peer_id,
        pool_id=pool_id,
        round=round,
        node_index=node_index,
        node_count=node_count,
        adapter_path=adapter_path,
        adapter_hash=digest,
        epoch_adapters=loop.checkpoints,
        samples=len(loop.records) * cfg.batch_size,
        steps=len(loop.records),
        epochs=loop.final_epoch,
        final_loss=loop.records[-1].loss if loop.records else float("nan"),
        losses=[r.loss for r in loop.records],
        records_path=records_path,
        records_root=records_root(loop.records),
        barrier_seconds=barrier,
        compute_seconds=loop.compute_s,
        averaging_seconds=loop.averaging_s,
        total_seconds=time.perf_counter() - started,
        bytes_sent=2 * int(counter.value),
        lora_parameters=sum(p.numel() for p in params),
        model_parameters=sum(p.numel() for p in model.parameters()),
    )
    (out_dir / "result.json").write_text(result.model_dump_json(indent=2))
    logger.info(
        "round done run_id=%s node=%d steps=%d epochs=%d hash=%s",
        run_id,
        node_index,
        result.steps,
        result.epochs,
        digest,
    )
    return result


@dataclass
class _LoopOutcome:
    records: list[ReplayRecord]
    checkpoints: dict[int, Path]
    final_epoch: int
    compute_s: float
    averaging_s: float
    sync_s: float


def _train_loop(
    cfg: TrainConfig,
    model: torch.nn.Module,
    opt: Any,
    shard: Any,
    projector: GradientProjector,
    out_dir: Path,
    on_progress: Callable[[StepProgress], None] | None,
    sync: Callable[[], None],
) -> _LoopOutcome:
    records: list[ReplayRecord] = []
    checkpoints: dict[int, Path] = {}
    compute_s = averaging_s = sync_s = 0.0
    for step in range(cfg.max_local_steps):
        epoch = int(opt.local_epoch)
        if cfg.max_epochs is not None and epoch >= cfg.max_epochs:
            break
        if epoch not in checkpoints:
            path = out_dir / "epochs" / f"epoch_{epoch:04d}.safetensors"
            save_adapter(model, path)
            checkpoints[epoch] = path
        t0 = time.perf_counter()
        loss, grads = step_loss_and_grads(model, shard.batch(step, cfg.batch_size))
        projection = projector.project(grads)
        t1 = time.perf_counter()
        opt.step()
        opt.zero_grad()
        t2 = time.perf_counter()
        compute_s += t1 - t0
        averaging_s += t2 - t1
        if step == 0:
            sync()
            sync_s = time.perf_counter() - t2
        records.append(ReplayRecord.make(step, epoch, loss, projection))
        if on_progress is not None:
            on_progress(StepProgress(step, epoch, loss, (step + 1) * cfg.batch_size))
    return _LoopOutcome(records, checkpoints, int(opt.local_epoch), compute_s, averaging_s, sync_s)
