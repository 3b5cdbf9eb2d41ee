"""Fixtures of the trainer tests: the tiny model config, built models and saved adapters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from trainer.artifacts import save_adapter
from trainer.collab import RoundResult, create_dht, read_progress
from trainer.config import HivemindConfig, ModelConfig, TrainConfig
from trainer.data import Shard, TrainingData
from trainer.local import LocalSwarm
from trainer.models import attach_lora, build_base_model, lora_named_parameters
from trainer.replay import GradientProjector, ReplayRecord, step_loss_and_grads
from trainer.tokenizer import build_byte_tokenizer


@pytest.fixture(scope="session", autouse=True)
def _few_threads() -> None:
    # 2 cores shared with other suites: one intra-op thread keeps the tiny model fast.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_cfg() -> ModelConfig:
    return ModelConfig()


@pytest.fixture
def lora_model(tiny_cfg: ModelConfig) -> torch.nn.Module:
    return attach_lora(build_base_model(tiny_cfg), tiny_cfg)


@pytest.fixture
def trained_adapter(tmp_path: Path, tiny_cfg: ModelConfig) -> Path:
    """An adapter whose weights are visibly non-zero (random, seeded), saved canonically."""
    model = attach_lora(build_base_model(tiny_cfg), tiny_cfg)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for _, param in lora_named_parameters(model):
            param.copy_(torch.randn(param.shape, generator=gen) * 0.5)
    path = tmp_path / "adapter.safetensors"
    save_adapter(model, path)
    return path


@dataclass
class LocalRun:
    """A node's steps trained without hivemind: an epoch every ``steps_per_epoch`` steps."""

    cfg: TrainConfig
    shard: Shard
    records: list[ReplayRecord]
    checkpoints: dict[int, Path]


def run_local_steps(
    cfg: TrainConfig, shard: Shard, out: Path, *, steps: int = 6, steps_per_epoch: int = 2
) -> LocalRun:
    """Mimic what hivemind does to one node: accumulate gradients, step at epoch ends."""
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    params = [p for _, p in lora_named_parameters(model)]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate)
    projector = GradientProjector.for_model(
        model, cfg.replay.projection_dim, cfg.replay.projection_seed
    )
    records, checkpoints = [], {}
    acc = [torch.zeros_like(p) for p in params]
    for step in range(steps):
        epoch = step // steps_per_epoch
        if epoch not in checkpoints:
            checkpoints[epoch] = out / f"epoch_{epoch}.safetensors"
            save_adapter(model, checkpoints[epoch])
        loss, grads = step_loss_and_grads(model, shard.batch(step, cfg.batch_size))
        records.append(ReplayRecord.make(step, epoch, loss, projector.project(grads)))
        for a, g in zip(acc, grads, strict=True):
            a += g
        if step % steps_per_epoch == steps_per_epoch - 1:
            for p, a in zip(params, acc, strict=True):
                p.grad = a / steps_per_epoch
            opt.step()
            acc = [torch.zeros_like(p) for p in params]
    return LocalRun(cfg, shard, records, checkpoints)


@pytest.fixture(scope="module")
def two_local_nodes(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalRun, LocalRun]:
    cfg = TrainConfig()
    data = TrainingData(cfg.data, build_byte_tokenizer())
    runs = []
    for node in range(2):
        out = tmp_path_factory.mktemp(f"node{node}")
        runs.append(run_local_steps(cfg, data.shard(5, 0, node, 2), out))
    return runs[0], runs[1]


@pytest.fixture(scope="session")
def swarm_cfg() -> TrainConfig:
    """Small, fast hivemind settings for loopback peers on a 2-core machine."""
    return TrainConfig(
        max_epochs=10,
        max_local_steps=400,
        torch_threads=1,
        hivemind=HivemindConfig(
            target_batch_size=64,
            matchmaking_time=1.0,
            averaging_timeout=10.0,
            average_state_every=1,
            barrier_timeout=60.0,
            start_delay=1.0,
        ),
    )


@dataclass
class SwarmOutcome:
    cfg: TrainConfig
    out: Path
    run_id: str
    exit_codes: list[int | None]
    observed_epochs: dict[str, int]  # peer id -> highest epoch a client-mode observer read
    results: list[RoundResult]


@pytest.fixture(scope="module")
def trained_swarm(tmp_path_factory: pytest.TempPathFactory, swarm_cfg: TrainConfig) -> SwarmOutcome:
    """Three real hivemind peers (subprocesses) train round 0 of pool 7 together, watched by
    a third-party client-mode DHT peer that reads their published progress."""
    out = tmp_path_factory.mktemp("swarm")
    with LocalSwarm(swarm_cfg, peers=3, out_root=out, pool_id=7, round=0) as swarm:
        observer = create_dht(
            swarm_cfg.hivemind, swarm.maddrs, client_mode=True, read_progress=True
        )
        seen: dict[str, int] = {}

        def watch(s: LocalSwarm) -> None:
            for p in read_progress(observer, s.run_id):
                seen[p.peer_id] = max(seen.get(p.peer_id, -1), p.epoch)

        try:
            codes = swarm.wait(150, on_tick=watch)
        finally:
            observer.shutdown()
        results = swarm.results()
        return SwarmOutcome(swarm_cfg, out, swarm.run_id, codes, seen, results)
