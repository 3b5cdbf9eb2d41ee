"""Collaborative LoRA training over hivemind in DiLoCo rounds: DHT, membership, one round.

One round of one node (:func:`train_round`):

1. build the base model + LoRA (seeded, identical everywhere), load the round's base adapter;
2. take the node's deterministic shard (:meth:`TrainingData.shard`);
3. join the DHT and the round's quorum barrier (:mod:`trainer.membership`): the round starts
   with the peers that are there (all, or a quorum after the grace period); a peer that
   arrives after the start sits the round out (:class:`LateForRoundError`);
4. ``max_epochs`` outer steps (DiLoCo, :mod:`trainer.diloco`): ``inner_steps`` AdamW steps on
   the LoRA parameters alone, then the all-reduce of the pseudo-gradient ``A_global -
   A_local`` and an outer SGD step that every member applies alike;
5. one :class:`ReplayRecord` per inner step, and training-state checkpoints (weights + inner
   optimizer state) at each outer step's start and end and every ``checkpoint_every`` steps;
   the records commit to the checkpoints around their segment;
6. progress (samples of the outer step) published in the DHT once per outer step, in
   hivemind's signed ``<run_id>_progress`` schema that validators read;
7. save the final adapter, the records and their Merkle root, the measured wire bytes and the
   time split, and return a :class:`RoundResult`. A multi-node round in which no all-reduce
   found a partner is not collaborative: ``collaborative=False`` (callers must not report it
   as collaborative work; :func:`offchain.worker.training.train_verifiable` refuses to).

A peer that dies mid-round costs the others at most ``sync_wait`` per outer step (matchmaking
then goes on with the peers that answer).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
    publish_progress,
    read_progress,
    run_id_for,
    visible_maddrs,
)
from trainer.diloco import OuterSync, SyncOutcome, allreduce_limit_bytes
from trainer.inner import InnerTrainer
from trainer.membership import LateForRoundError, join_round, wait_until
from trainer.models import (
    attach_lora,
    build_base_model,
    build_tokenizer,
    load_lora_state,
    lora_named_parameters,
)
from trainer.replay import ReplayRecord, records_root, save_records
from trainer.wire import SocketCounter

logger = logging.getLogger(__name__)

__all__ = [
    "LateForRoundError",
    "PeerProgress",
    "RoundResult",
    "StepProgress",
    "create_dht",
    "read_progress",
    "run_id_for",
    "train_round",
    "visible_maddrs",
]


@dataclass(frozen=True)
class StepProgress:
    """Passed to ``on_progress`` after every local step."""

    step: int
    epoch: int
    loss: float
    samples: int


class RoundResult(BaseModel):
    """What one node's round produced (also written to ``<out_dir>/result.json``).

    Times are wall-clock seconds of this peer: ``barrier_seconds`` (waiting to start),
    ``compute_seconds`` (inner steps: forward, backward, projection, inner optimizer),
    ``averaging_seconds`` (outer steps: matchmaking wait, all-reduce, outer update),
    ``checkpoint_seconds`` and ``total_seconds`` (everything, barrier included);
    ``utilization`` is compute over total. ``wire_*`` are bytes this peer's ``p2pd`` sockets
    moved (:mod:`trainer.wire`), ``wire_sync_sent`` the part sent while all-reduces ran.
    """

    model_config = ConfigDict(frozen=True)

    run_id: str
    peer_id: str
    pool_id: int
    round: int
    node_index: int
    node_count: int
    members: int
    collaborative: bool
    group_sizes: list[int]
    adapter_path: Path
    adapter_hash: str
    checkpoints: dict[str, Path]
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
    checkpoint_seconds: float
    total_seconds: float
    utilization: float
    bytes_sent: int
    wire_sent: int
    wire_received: int
    wire_sync_sent: int
    wire_measured: bool
    allreduce_limit_bytes: float
    compression: str
    lora_parameters: int
    model_parameters: int


def outer_steps(cfg: TrainConfig) -> list[int]:
    """Inner steps of each outer step: ``max_epochs`` outer steps of ``inner_steps`` (or as
    many as ``max_local_steps`` allows), the last one possibly shorter."""
    h = cfg.diloco.inner_steps
    total = cfg.max_local_steps
    if cfg.max_epochs is not None:
        total = min(total, cfg.max_epochs * h)
    return [min(h, total - start) for start in range(0, total, h)]


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
    params = [p for _, p in lora_named_parameters(model)]
    run_id = run_id_for(cfg.hivemind.run_prefix, pool_id, round)
    own_dht = dht is None
    if own_dht:
        dht = create_dht(cfg.hivemind, initial_peers, read_progress=True)
    peer_id = str(dht.peer_id)
    wire = SocketCounter.for_dht(dht).start()
    sync: OuterSync | None = None
    try:
        h = cfg.hivemind
        # the averager starts while the peers gather (a group of every member, the usual case)
        sync = OuterSync(cfg, dht=dht, run_id=run_id, params=params, group_size=node_count)
        admission = join_round(
            dht,
            run_id,
            name=peer_id,
            expected=node_count,
            quorum=h.quorum,
            grace=h.join_grace,
            timeout=h.barrier_timeout,
            start_delay=h.start_delay,
        )
        if admission.size != node_count:  # a quorum started: groups of the admitted members
            sync.shutdown()
            sync = OuterSync(cfg, dht=dht, run_id=run_id, params=params, group_size=admission.size)
        wait_until(admission.start_at)
        barrier = time.perf_counter() - started
        inner = InnerTrainer(cfg, model, out_dir / "checkpoints")
        loop = _Loop(cfg, inner, shard, on_progress, sync, dht, run_id, wire)
        loop.run()
    finally:
        if sync is not None:
            sync.shutdown()
        measured = wire.stop()
        if own_dht:
            dht.shutdown()

    adapter_path = out_dir / "adapter.safetensors"
    digest = save_adapter(model, adapter_path)
    records_path = out_dir / "records.jsonl"
    save_records(loop.records, records_path)
    lora_numel = sum(p.numel() for p in params)
    groups = [o.group_size for o in loop.outcomes]
    total = time.perf_counter() - started
    limit = sum(allreduce_limit_bytes(g, lora_numel) for g in groups)
    result = RoundResult(
        run_id=run_id,
        peer_id=peer_id,
        pool_id=pool_id,
        round=round,
        node_index=node_index,
        node_count=node_count,
        members=admission.size,
        collaborative=node_count == 1 or any(g > 1 for g in groups),
        group_sizes=groups,
        adapter_path=adapter_path,
        adapter_hash=digest,
        checkpoints=inner.checkpoints,
        samples=len(loop.records) * cfg.batch_size,
        steps=len(loop.records),
        epochs=len(loop.outcomes),
        final_loss=loop.records[-1].loss if loop.records else float("nan"),
        losses=[r.loss for r in loop.records],
        records_path=records_path,
        records_root=records_root(loop.records),
        barrier_seconds=barrier,
        compute_seconds=inner.compute_s,
        averaging_seconds=sum(o.seconds for o in loop.outcomes),
        checkpoint_seconds=inner.checkpoint_s,
        total_seconds=total,
        utilization=inner.compute_s / total if total > 0 else 0.0,
        bytes_sent=measured.sent,
        wire_sent=measured.sent,
        wire_received=measured.received,
        wire_sync_sent=loop.sync_sent,
        wire_measured=wire.available,
        allreduce_limit_bytes=limit,
        compression=cfg.diloco.compression,
        lora_parameters=lora_numel,
        model_parameters=sum(p.numel() for p in model.parameters()),
    )
    (out_dir / "result.json").write_text(result.model_dump_json(indent=2))
    logger.info(
        "round done run_id=%s node=%d steps=%d outer=%d groups=%s hash=%s",
        run_id,
        node_index,
        result.steps,
        result.epochs,
        groups,
        digest,
    )
    return result


@dataclass
class _Loop:
    """The inner/outer loop of one round (state kept on the instance for the result)."""

    cfg: TrainConfig
    inner: InnerTrainer
    shard: Any
    on_progress: Callable[[StepProgress], None] | None
    sync: OuterSync
    dht: Any
    run_id: str
    wire: SocketCounter
    records: list[ReplayRecord] = field(default_factory=list)
    outcomes: list[SyncOutcome] = field(default_factory=list)
    sync_sent: int = 0

    def run(self) -> None:
        cfg = self.cfg
        step = 0
        for epoch, n in enumerate(outer_steps(cfg)):
            epoch_t0 = time.perf_counter()
            compute_t0 = self.inner.compute_s

            def hook(s: int, loss: float, epoch: int = epoch) -> None:
                if self.on_progress is not None:
                    self.on_progress(StepProgress(s, epoch, loss, (s + 1) * cfg.batch_size))

            self.records += self.inner.run(
                self.shard, epoch=epoch, first_step=step, n=n, on_step=hook
            )
            step += n
            samples = n * cfg.batch_size
            compute = self.inner.compute_s - compute_t0
            publish_progress(
                self.dht,
                self.run_id,
                epoch=epoch,
                samples=samples,
                samples_per_second=samples / compute if compute > 0 else 0.0,
                ttl=max(cfg.hivemind.progress_expiration, 2 * (time.perf_counter() - epoch_t0)),
            )
            before = self.wire.read()
            self.outcomes.append(self.sync.sync(epoch, weight=float(samples)))
            self.sync_sent += (self.wire.read() - before).sent
