"""Fixtures of the validator unit tests: the tiny model's fresh adapter, honest and dishonest
adapters around it, and a node's real replay bundle from a few local training steps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from validator_support import NODE, NODE_COUNT, NODE_INDEX, POOL, ROUND, LocalRun

from offchain.rounds.adapters import fresh_adapter
from offchain.rounds.bundle import ReplayBundle
from trainer.artifacts import load_adapter_state, save_adapter
from trainer.config import ReplayConfig, TrainConfig
from trainer.data import TrainingData
from trainer.inner import InnerTrainer
from trainer.models import attach_lora, build_base_model, build_tokenizer
from trainer.replay import records_root


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def cfg() -> TrainConfig:
    return TrainConfig(replay=ReplayConfig(checkpoint_every=2))


@pytest.fixture(scope="session")
def base(cfg: TrainConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fresh LoRA initialisation (the base adapter of a first round)."""
    return fresh_adapter(cfg, tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="session")
def make_adapter(base: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``make_adapter(name, direction_seed, noise_seed, scale, noise)``: base + a shared update
    direction (what honest peers of one run learn) + a little per-node noise."""
    folder = tmp_path_factory.mktemp("adapters")
    state = load_adapter_state(base)

    def _make(
        name: str, *, direction: int = 1, node: int = 0, scale: float = 0.05, noise: float = 0.005
    ) -> Path:
        gen_d = torch.Generator().manual_seed(direction)
        gen_n = torch.Generator().manual_seed(1000 + node)
        out = {
            k: v
            + scale * torch.randn(v.shape, generator=gen_d)
            + noise * torch.randn(v.shape, generator=gen_n)
            for k, v in state.items()
        }
        path = folder / f"{name}.safetensors"
        save_adapter(out, path)
        return path

    return _make


@pytest.fixture(scope="session")
def local_run(cfg: TrainConfig, tmp_path_factory: pytest.TempPathFactory) -> LocalRun:
    """Six inner steps of a DiLoCo node (checkpoints every two steps), as its replay bundle."""
    out = tmp_path_factory.mktemp("run")
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    shard = data.shard(POOL, ROUND, NODE_INDEX, NODE_COUNT)
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    inner = InnerTrainer(cfg, model, out)
    records = inner.run(shard, epoch=0, first_step=0, n=6)
    bundle = ReplayBundle(
        node=NODE,
        pool_id=POOL,
        round=ROUND,
        run_id="test",
        node_index=NODE_INDEX,
        node_count=NODE_COUNT,
        batch_size=cfg.batch_size,
        records=[r.to_json() for r in records],
        checkpoints=sorted(inner.checkpoints),
    )
    return LocalRun(bundle, records_root(records), dict(inner.checkpoints), shard)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on loopback: (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
