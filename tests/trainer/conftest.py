"""Fixtures of the trainer tests: the tiny model config, built models and saved adapters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from trainer.artifacts import save_adapter
from trainer.collab import RoundResult, create_dht, read_progress
from trainer.config import DilocoConfig, HivemindConfig, ModelConfig, ReplayConfig, TrainConfig
from trainer.data import Shard, TrainingData
from trainer.inner import InnerTrainer
from trainer.local import LocalSwarm
from trainer.models import attach_lora, build_base_model, lora_named_parameters
from trainer.replay import ReplayRecord
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
    """A node's inner steps trained without hivemind (one outer step), with its checkpoints."""

    cfg: TrainConfig
    shard: Shard
    records: list[ReplayRecord]
    checkpoints: dict[str, Path]  # hash -> training-state file

    def segment(self, step: int) -> list[ReplayRecord]:
        """The records sharing ``step``'s start and end checkpoints."""
        r = self.records[step]
        return [x for x in self.records if (x.start, x.end) == (r.start, r.end)]


def run_local_steps(cfg: TrainConfig, shard: Shard, out: Path, *, steps: int = 6) -> LocalRun:
    """Train ``steps`` inner steps as a DiLoCo node does between two all-reduces."""
    model = attach_lora(build_base_model(cfg.model), cfg.model)
    inner = InnerTrainer(cfg, model, out)
    records = inner.run(shard, epoch=0, first_step=0, n=steps)
    return LocalRun(cfg, shard, records, inner.checkpoints)


@pytest.fixture(scope="module")
def two_local_nodes(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalRun, LocalRun]:
    cfg = TrainConfig(replay=ReplayConfig(checkpoint_every=2))
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
        max_epochs=4,
        max_local_steps=400,
        torch_threads=1,
        diloco=DilocoConfig(inner_steps=6, sync_wait=30.0),
        hivemind=HivemindConfig(
            averaging_timeout=30.0,
            barrier_timeout=90.0,
            join_grace=30.0,
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
