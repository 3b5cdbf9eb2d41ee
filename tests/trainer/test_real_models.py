"""Any Hugging Face causal LM folder: LoRA targets per architecture, r/alpha, dtype,
gradient checkpointing, quantization refused (not faked) without a GPU, precision planning."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch

from trainer.config import DataConfig, ModelConfig
from trainer.data import TrainingData
from trainer.errors import PrecisionUnavailableError, TrainerConfigError
from trainer.hardware import GIB, precision_problem, resolve_precision
from trainer.models import (
    attach_lora,
    build_base_model,
    build_tokenizer,
    lora_named_parameters,
    lora_state,
    quantization_config,
)
from trainer.replay import step_loss_and_grads

EXPECTED_TARGETS = {
    "llama": {"q_proj", "v_proj"},
    "qwen2": {"q_proj", "v_proj"},
    "mistral": {"q_proj", "v_proj"},
    "gpt2": {"c_attn"},
}


def _targets(model: torch.nn.Module) -> set[str]:
    names = [re.split(r"\.lora_[AB]\.", n)[0] for n, _ in lora_named_parameters(model)]
    return {n.rsplit(".", 1)[-1] for n in names}


def _train_steps(cfg: ModelConfig, steps: int = 6) -> list[float]:
    tok = build_tokenizer(cfg)
    data = TrainingData(DataConfig(num_examples=64, max_length=24), tok)
    model = attach_lora(build_base_model(cfg), cfg)
    model.train()
    params = [p for _, p in lora_named_parameters(model)]
    opt = torch.optim.AdamW(params, lr=5e-2)
    batch = data.shard(0, 0, 0, 1).batch(0, 8)
    losses = []
    for _ in range(steps):
        loss, _ = step_loss_and_grads(model, batch)
        opt.step()
        losses.append(loss)
    return losses


@pytest.mark.parametrize("arch", sorted(EXPECTED_TARGETS))
def test_every_architecture_trains_with_its_default_targets(
    model_folders: dict[str, Path], arch: str
) -> None:
    cfg = ModelConfig(source="pretrained", path=model_folders[arch])
    model = attach_lora(build_base_model(cfg), cfg)
    assert _targets(model) == EXPECTED_TARGETS[arch]
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {
        n for n, _ in lora_named_parameters(model)
    }
    # seeded: a second build has the same fresh adapter (every node starts equal)
    again = attach_lora(build_base_model(cfg), cfg)
    assert all(torch.equal(v, lora_state(again)[k]) for k, v in lora_state(model).items())
    losses = _train_steps(cfg)
    assert losses[-1] < losses[0]


def test_targets_rank_and_alpha_are_settings(model_folders: dict[str, Path]) -> None:
    folder = model_folders["llama"]
    cfg = ModelConfig(
        source="pretrained",
        path=folder,
        lora_target_modules=("q_proj", "k_proj", "o_proj"),
        lora_r=4,
        lora_alpha=32,
    )
    model = attach_lora(build_base_model(cfg), cfg)
    assert _targets(model) == {"q_proj", "k_proj", "o_proj"}
    layer = model.base_model.model.model.layers[0].self_attn.q_proj
    assert layer.lora_A["default"].weight.shape[0] == 4
    assert layer.scaling["default"] == 32 / 4
    every = ModelConfig(source="pretrained", path=folder, lora_target_modules=("all-linear",))
    assert _targets(attach_lora(build_base_model(every), every)) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }
    wrong = ModelConfig(source="pretrained", path=folder, lora_target_modules=("c_attn",))
    with pytest.raises(TrainerConfigError, match="do not fit this model"):
        attach_lora(build_base_model(wrong), wrong)


def test_bf16_base_keeps_fp32_lora_and_trains(model_folders: dict[str, Path]) -> None:
    cfg = ModelConfig(source="pretrained", path=model_folders["qwen2"], dtype="bf16")
    model = attach_lora(build_base_model(cfg), cfg)
    base_dtypes = {p.dtype for n, p in model.named_parameters() if ".lora_" not in n}
    assert base_dtypes == {torch.bfloat16}
    assert {p.dtype for _, p in lora_named_parameters(model)} == {torch.float32}
    losses = _train_steps(cfg, steps=4)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]


def test_gradient_checkpointing_gives_the_same_step(model_folders: dict[str, Path]) -> None:
    plain = ModelConfig(source="pretrained", path=model_folders["llama"])
    ckpt = plain.model_copy(update={"gradient_checkpointing": True})
    tok = build_tokenizer(plain)
    batch = TrainingData(DataConfig(num_examples=16, max_length=16), tok).heldout().batch(0, 4)
    results = []
    for cfg in (plain, ckpt):
        model = attach_lora(build_base_model(cfg), cfg)
        model.train()
        results.append(step_loss_and_grads(model, batch))
    assert model.base_model.model.is_gradient_checkpointing
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert loss_a == pytest.approx(loss_b, rel=1e-6)
    for a, b in zip(grads_a, grads_b, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_quantized_pool_is_refused_without_a_gpu(model_folders: dict[str, Path]) -> None:
    cfg = ModelConfig(source="pretrained", path=model_folders["llama"], quantization="4bit")
    with pytest.raises(PrecisionUnavailableError, match="needs a CUDA GPU"):
        build_base_model(cfg)
    # serving may fall back to full precision; bitsandbytes is never imported on CPU
    assert build_base_model(cfg, strict=False).dtype == torch.float32
    assert "bitsandbytes" not in sys.modules
    with pytest.raises(TrainerConfigError, match="never quantized"):
        ModelConfig(quantization="8bit")


def test_qlora_config_is_nf4_double_quant_bf16() -> None:
    q4 = quantization_config("4bit")
    assert (q4.load_in_4bit, q4.bnb_4bit_quant_type, q4.bnb_4bit_use_double_quant) == (
        True,
        "nf4",
        True,
    )
    assert q4.bnb_4bit_compute_dtype == torch.bfloat16
    assert quantization_config("8bit").load_in_8bit
    assert "bitsandbytes" not in sys.modules


def test_precision_problem_says_why_a_machine_cannot_replay(tmp_path: Path) -> None:
    q4 = ModelConfig(source="pretrained", path=tmp_path, quantization="4bit")
    assert "needs a CUDA GPU" in str(precision_problem(q4, None, has_bitsandbytes=True))
    no_bnb = precision_problem(q4, 24 * GIB, has_bitsandbytes=False)
    assert "bitsandbytes" in str(no_bnb)
    assert precision_problem(ModelConfig(dtype="fp16"), None) is not None
    assert precision_problem(ModelConfig(dtype="bf16"), None) is None
    assert precision_problem(ModelConfig(), None) is None


@pytest.mark.parametrize(
    ("vram_gib", "pretrained", "expected"),
    [
        (None, True, ("fp32", "none")),
        (None, False, ("fp32", "none")),
        (8, False, ("fp32", "none")),
    ],
)
def test_auto_precision_follows_the_machine(
    vram_gib: int | None, pretrained: bool, expected: tuple[str, str]
) -> None:
    vram = None if vram_gib is None else vram_gib * GIB
    assert resolve_precision("auto", "auto", vram, pretrained=pretrained) == expected
    assert resolve_precision("bf16", "none", None, pretrained=True) == ("bf16", "none")
    with pytest.raises(PrecisionUnavailableError, match="Unknown quantization"):
        resolve_precision("auto", "3bit", None, pretrained=True)


def test_auto_quantization_is_the_tier_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    import trainer.hardware as hw

    monkeypatch.setattr(hw, "bitsandbytes_available", lambda: True)
    monkeypatch.setattr(hw, "bf16_supported", lambda vram: True)
    assert resolve_precision("auto", "auto", 12 * GIB, pretrained=True) == ("bf16", "4bit")
    assert resolve_precision("auto", "auto", 24 * GIB, pretrained=True) == ("bf16", "8bit")
    assert resolve_precision("auto", "auto", 80 * GIB, pretrained=True) == ("bf16", "none")
    monkeypatch.setattr(hw, "bitsandbytes_available", lambda: False)
    assert resolve_precision("auto", "auto", 12 * GIB, pretrained=True) == ("bf16", "none")


def test_unknown_architecture_names_the_fix(tmp_path: Path) -> None:
    from trainer.models import lora_targets

    class Odd(torch.nn.Module):
        config = type("C", (), {"model_type": "no-such-arch"})()

    with pytest.raises(TrainerConfigError, match="--lora-targets"):
        lora_targets(Odd(), ModelConfig())
    with pytest.raises(TrainerConfigError, match=r"no config\.json"):
        build_base_model(ModelConfig(source="pretrained", path=tmp_path))


def test_importing_trainer_turns_the_hub_offline() -> None:
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    code = (
        "import trainer, huggingface_hub.constants as c, datasets.config as d; "
        "assert c.HF_HUB_OFFLINE and d.HF_DATASETS_OFFLINE"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
