"""Fixtures of the trainer tests: the tiny model config, built models and saved adapters."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from trainer.artifacts import save_adapter
from trainer.config import ModelConfig
from trainer.models import attach_lora, build_base_model, lora_named_parameters


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
