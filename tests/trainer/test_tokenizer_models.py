"""Tokenizer and model construction: deterministic, LoRA-only trainable, pretrained path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from trainer.config import ModelConfig
from trainer.errors import PrecisionUnavailableError, TrainerConfigError
from trainer.hardware import plan_runtime
from trainer.models import (
    attach_lora,
    build_base_model,
    build_tokenizer,
    load_lora_state,
    lora_named_parameters,
    lora_state,
)
from trainer.tokenizer import BYTE_VOCAB_SIZE, build_byte_tokenizer


def test_byte_tokenizer_round_trips_any_text() -> None:
    tok = build_byte_tokenizer()
    text = "12+34=46\nhé ✓ 漢字"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text.encode())
    assert tok.decode(ids) == text
    assert tok(text)["input_ids"][0] == tok.bos_token_id
    assert len(tok) == BYTE_VOCAB_SIZE


def test_tokenizer_ids_are_fixed() -> None:
    # Pinned ids: a change here would silently break every adapter trained before it.
    tok = build_byte_tokenizer()
    assert tok("a+1=", add_special_tokens=False)["input_ids"] == [68, 14, 20, 32]
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id) == (0, 1, 2)


def test_tiny_model_is_identical_for_a_seed(tiny_cfg: ModelConfig) -> None:
    a, b = build_base_model(tiny_cfg), build_base_model(tiny_cfg)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert na == nb and torch.equal(pa, pb)
    other = build_base_model(tiny_cfg.model_copy(update={"seed": 1}))
    assert not torch.equal(a.lm_head.weight, other.lm_head.weight)


def test_lora_only_trainable_and_fresh_adapter_is_a_no_op(tiny_cfg: ModelConfig) -> None:
    base = build_base_model(tiny_cfg)
    ids = torch.tensor([[1, 20, 14, 21, 32]])
    before = base(input_ids=ids).logits
    model = attach_lora(base, tiny_cfg)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {n for n, _ in lora_named_parameters(model)}
    assert all(".lora_" in n for n in trainable)
    assert torch.allclose(model(input_ids=ids).logits, before)
    again = attach_lora(build_base_model(tiny_cfg), tiny_cfg)
    assert all(torch.equal(lora_state(model)[k], v) for k, v in lora_state(again).items())


def test_load_lora_state_rejects_foreign_adapter(tiny_cfg: ModelConfig) -> None:
    model = attach_lora(build_base_model(tiny_cfg), tiny_cfg)
    other_cfg = tiny_cfg.model_copy(update={"lora_target_modules": ("q_proj", "k_proj")})
    other = attach_lora(build_base_model(other_cfg), other_cfg)
    with pytest.raises(TrainerConfigError, match="does not fit"):
        load_lora_state(model, lora_state(other))


def test_config_errors_are_readable() -> None:
    with pytest.raises(TrainerConfigError, match="needs a local model path"):
        ModelConfig(source="pretrained")
    with pytest.raises(TrainerConfigError, match="multiple of"):
        ModelConfig(hidden_size=30, num_attention_heads=4)


def test_pretrained_source_loads_local_folder(tmp_path: Path, tiny_cfg: ModelConfig) -> None:
    folder = tmp_path / "model"
    build_base_model(tiny_cfg).save_pretrained(folder)
    build_tokenizer(tiny_cfg).save_pretrained(folder)
    cfg = ModelConfig(source="pretrained", path=folder)
    loaded, tok = build_base_model(cfg), build_tokenizer(cfg)
    ids = torch.tensor([tok("1+1=")["input_ids"]])
    expected = build_base_model(tiny_cfg)(input_ids=ids).logits
    assert torch.allclose(loaded(input_ids=ids).logits, expected, atol=1e-6)
    missing = ModelConfig(source="pretrained", path=tmp_path / "nowhere")
    with pytest.raises(TrainerConfigError, match="does not exist"):
        build_base_model(missing)


def test_cpu_path_without_cuda_never_needs_bitsandbytes(tiny_cfg: ModelConfig) -> None:
    # No GPU here: only the CPU plan can be exercised; 4/8-bit loading is GPU-only code.
    plan = plan_runtime("4bit", vram_bytes=None)
    assert (plan.device, plan.quantization) == ("cpu", "none")
    with pytest.raises(PrecisionUnavailableError, match="needs a CUDA GPU"):
        plan_runtime("4bit", vram_bytes=None, strict=True)
    build_base_model(tiny_cfg)
    assert "bitsandbytes" not in sys.modules


@pytest.mark.parametrize(
    ("vram_gib", "tier", "suggested"),
    [
        (80, "xl", "none"),
        (24, "large", "8bit"),
        (12, "medium", "4bit"),
        (8, "small", "4bit"),
        (4, "tiny", "4bit"),
    ],
)
def test_gpu_tier_follows_vram(vram_gib: int, tier: str, suggested: str) -> None:
    plan = plan_runtime("none", vram_bytes=vram_gib * 1024**3)
    assert (plan.device, plan.tier, plan.suggested_quantization) == ("cuda", tier, suggested)
    assert plan.quantization == "none"
    assert plan_runtime("8bit", vram_bytes=vram_gib * 1024**3).quantization == "8bit"
