"""An adapter trained on any architecture is served as trained: the gateway's batched LoRA
bank gives the same logits as peft (LLaMA, GPT-2's Conv1D, Qwen2)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from offchain.gateway.engine.lora import LoraBank
from trainer.config import ModelConfig
from trainer.models import attach_lora, build_base_model, lora_named_parameters, lora_state


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
def test_bank_serves_the_adapter_peft_trained(model_folders: dict[str, Path], arch: str) -> None:
    cfg = ModelConfig(source="pretrained", path=model_folders[arch], lora_r=4)
    trained = attach_lora(build_base_model(cfg), cfg)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for _, param in lora_named_parameters(trained):
            param.copy_(torch.randn(param.shape, generator=gen) * 0.3)
    ids = torch.tensor([[3, 17, 42, 9, 120, 5]])
    expected = trained(input_ids=ids).logits
    base = build_base_model(cfg)
    plain = base(input_ids=ids).logits
    bank = LoraBank(base, cfg, "cpu")
    bank.add("mine", lora_state(trained))
    bank.active = torch.tensor([bank.slot_of("mine")])
    served = base(input_ids=ids).logits
    assert not torch.allclose(served, plain, atol=1e-4)  # the adapter does something
    assert torch.allclose(served, expected, atol=1e-5)
