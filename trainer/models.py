"""Base causal LM, tokenizer and peft LoRA adapter, built from a :class:`ModelConfig`.

``source="tiny"``: a LLaMA-shaped model whose every weight is drawn from a generator seeded
by ``(cfg.seed, parameter name)``, so every node builds bit-identical weights without
depending on the order in which transformers initialises modules. ``source="pretrained"``:
``from_pretrained(path, local_files_only=True)``; 4/8-bit loading only on a GPU.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import TYPE_CHECKING, Any, cast

import torch

from trainer.config import ModelConfig
from trainer.errors import TrainerConfigError
from trainer.hardware import cuda_vram_bytes, plan_runtime
from trainer.tokenizer import build_byte_tokenizer

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

LoraState = dict[str, torch.Tensor]


def seeded_generator(*parts: object) -> torch.Generator:
    """A CPU generator seeded by the SHA-256 of ``parts`` (stable across machines)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return torch.Generator(device="cpu").manual_seed(int.from_bytes(digest[:8], "big") >> 1)


def build_tokenizer(cfg: ModelConfig) -> PreTrainedTokenizerBase:
    """The tokenizer of the model: the byte-level one for ``tiny``, the local files otherwise."""
    if cfg.source == "tiny":
        return build_byte_tokenizer()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(cfg.path), local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def build_base_model(cfg: ModelConfig, *, device: str | None = None) -> PreTrainedModel:
    """Build (tiny) or load (pretrained) the base model, in eval mode, on ``device``."""
    if cfg.source == "tiny":
        model: Any = _on_device(_build_tiny(cfg), device or "cpu")
        return cast("PreTrainedModel", model.eval())
    return _load_pretrained(cfg, device=device)


def _build_tiny(cfg: ModelConfig) -> PreTrainedModel:
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_byte_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.num_key_value_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
        attention_dropout=0.0,
    )
    model: Any = LlamaForCausalLM(config)  # type: ignore[no-untyped-call]
    model = model.to(torch.float32)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            if param.dim() == 1:  # RMSNorm weights
                param.fill_(1.0)
            else:
                gen = seeded_generator("tiny", cfg.seed, name)
                param.copy_(torch.randn(param.shape, generator=gen) * cfg.init_std)
    return cast("PreTrainedModel", model)


def _on_device(model: PreTrainedModel, device: str) -> PreTrainedModel:
    moved: Any = model  # transformers' decorated ``.to`` confuses type checkers
    return cast("PreTrainedModel", moved.to(device))


def _load_pretrained(cfg: ModelConfig, *, device: str | None) -> PreTrainedModel:
    from transformers import AutoModelForCausalLM

    if cfg.path is None or not cfg.path.exists():
        raise TrainerConfigError(f"Pretrained model folder {cfg.path} does not exist.")
    plan = plan_runtime(cfg.quantization, cuda_vram_bytes())
    kwargs: dict[str, Any] = {"local_files_only": True}
    if plan.quantization != "none":
        # Only reached with CUDA present: transformers imports bitsandbytes here, lazily.
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_8bit=plan.quantization == "8bit",
            load_in_4bit=plan.quantization == "4bit",
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        kwargs["device_map"] = {"": 0}
    logger.info(
        "loading pretrained model path=%s device=%s quantization=%s tier=%s",
        cfg.path,
        device or plan.device,
        plan.quantization,
        plan.tier,
    )
    model: Any = AutoModelForCausalLM.from_pretrained(str(cfg.path), **kwargs)
    if plan.quantization != "none":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)  # type: ignore[no-untyped-call]
    else:
        model = _on_device(model, device or plan.device)
    return cast("PreTrainedModel", model.eval())


def attach_lora(model: PreTrainedModel, cfg: ModelConfig) -> PeftModel:
    """Wrap ``model`` with a LoRA adapter; only the LoRA weights stay trainable.

    ``lora_A`` is drawn from a generator seeded by ``(cfg.seed, name)`` (the same bound as
    peft's Kaiming-uniform default) and ``lora_B`` is zero, so a fresh adapter is a no-op and
    identical on every node.
    """
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=list(cfg.lora_target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, lora)
    with torch.no_grad():
        for name, param in lora_named_parameters(peft_model):
            if ".lora_A." in name:
                bound = 1.0 / math.sqrt(param.shape[1])
                gen = seeded_generator("lora", cfg.seed, name)
                sample = torch.rand(param.shape, generator=gen, dtype=torch.float32)
                param.copy_(((sample * 2 - 1) * bound).to(param.dtype))
            else:
                param.zero_()
    return peft_model


def lora_named_parameters(model: torch.nn.Module) -> list[tuple[str, torch.nn.Parameter]]:
    """The LoRA parameters of ``model`` in canonical (sorted by name) order."""
    params = [(n, p) for n, p in model.named_parameters() if ".lora_" in n]
    if not params:
        raise TrainerConfigError("The model has no LoRA parameters; call attach_lora first.")
    return sorted(params, key=lambda item: item[0])


def lora_state(model: torch.nn.Module) -> LoraState:
    """The adapter weights as peft saves them (adapter name stripped), fp32 CPU copies."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(model)
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in sorted(state.items())}


def load_lora_state(model: torch.nn.Module, state: LoraState) -> None:
    """Load adapter weights into ``model``; every key must match a LoRA weight."""
    from peft import set_peft_model_state_dict

    expected = set(lora_state(model))
    if set(state) != expected:
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        raise TrainerConfigError(
            f"The adapter does not fit this model (missing {missing[:3]}, unexpected {extra[:3]})."
        )
    set_peft_model_state_dict(model, state)
