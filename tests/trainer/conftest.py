"""Fixtures of the trainer tests: the tiny model config, built models and saved adapters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# -- real-architecture model folders (built here, nothing downloaded) ------------------------

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _bpe_tokenizer(chat: bool) -> Any:
    """A BPE tokenizer trained here on a small corpus (byte-level, like GPT-2/LLaMA-3)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    corpus = [f"{a}+{b}={a + b} the quick brown fox answers" for a in range(40) for b in range(9)]
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    core.train_from_iterator(corpus, trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=specials[1:],
    )
    if chat:
        tok.chat_template = CHATML_TEMPLATE
    return tok


ARCHITECTURES = ("llama", "gpt2", "qwen2", "mistral")


def build_model_folder(folder: Path, arch: str) -> Path:
    """``save_pretrained`` folder of a tiny ``arch`` causal LM with a trained BPE tokenizer."""
    from transformers import (
        AutoModelForCausalLM,
        GPT2Config,
        LlamaConfig,
        MistralConfig,
        Qwen2Config,
    )

    tok = _bpe_tokenizer(chat=arch in ("qwen2", "mistral"))
    eos = tok.eos_token_id
    common = {"vocab_size": len(tok), "eos_token_id": eos, "bos_token_id": eos}
    dims = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 128,
    }
    configs = {
        "llama": lambda: LlamaConfig(**dims, **common),
        "qwen2": lambda: Qwen2Config(**dims, **common),
        "mistral": lambda: MistralConfig(**dims, **common, sliding_window=None),
        "gpt2": lambda: GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=128, **common),
    }
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(configs[arch]())
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def model_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny ``save_pretrained`` folder per architecture in :data:`ARCHITECTURES`."""
    root = tmp_path_factory.mktemp("models")
    return {arch: build_model_folder(root / arch, arch) for arch in ARCHITECTURES}


@pytest.fixture
def local_steps() -> Any:
    """:func:`run_local_steps` (a node's steps without hivemind), for tests in other files."""
    return run_local_steps
