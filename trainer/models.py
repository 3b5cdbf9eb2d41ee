"""Base causal LM, tokenizer and peft LoRA adapter, built from a :class:`ModelConfig`.

``source="tiny"``: a LLaMA-shaped model whose every weight is drawn from a generator seeded
by ``(cfg.seed, parameter name)``, so every node builds bit-identical weights without
depending on the order in which transformers initialises modules. ``source="pretrained"``:
any Hugging Face causal LM folder, ``from_pretrained(path, local_files_only=True)`` in the
configured ``dtype``; 4-bit (QLoRA: NF4, double quantization, bf16 compute) or 8-bit loading
only on a CUDA GPU with bitsandbytes — elsewhere a clear refusal
(:class:`~trainer.errors.PrecisionUnavailableError`), never a silent fp32 fallback, unless the
caller (serving) asks for one with ``strict=False``.

LoRA targets: the config's, or peft's default for the architecture
(:func:`lora_targets`), resolved before the adapter is attached so that a model type peft
does not know is a readable error.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import TYPE_CHECKING, Any, cast

import torch

from trainer.config import ModelConfig
from trainer.errors import TrainerConfigError
from trainer.hardware import TORCH_DTYPES, cuda_vram_bytes, plan_runtime, require_precision
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

    _require_folder(cfg)
    tokenizer = AutoTokenizer.from_pretrained(str(cfg.path), local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _require_folder(cfg: ModelConfig) -> None:
    if cfg.path is None or not cfg.path.is_dir():
        raise TrainerConfigError(f"Pretrained model folder {cfg.path} does not exist.")
    if not (cfg.path / "config.json").is_file():
        raise TrainerConfigError(
            f"{cfg.path} is not a Hugging Face model folder (no config.json); save one with "
            "model.save_pretrained(folder) and tokenizer.save_pretrained(folder)."
        )


def build_base_model(
    cfg: ModelConfig, *, device: str | None = None, strict: bool = True
) -> PreTrainedModel:
    """Build (tiny) or load (pretrained) the base model, in eval mode, on ``device``.

    ``strict``: refuse a dtype/quantization this machine cannot run (training, replay);
    ``strict=False`` (serving) falls back to full precision on CPU with a warning.
    """
    if strict:
        require_precision(cfg)
    if cfg.source == "tiny":
        model: Any = _on_device(_build_tiny(cfg), device or "cpu")
        model = model.to(TORCH_DTYPES[cfg.dtype])
        _checkpointing(model, cfg)
        return cast("PreTrainedModel", model.eval())
    return _load_pretrained(cfg, device=device, strict=strict)


def _checkpointing(model: Any, cfg: ModelConfig) -> None:
    """Recompute activations in the backward pass (active in train mode only)."""
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False


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


def quantization_config(quantization: str) -> Any:
    """bitsandbytes settings: QLoRA's 4-bit NF4 + double quantization + bf16 compute, or
    LLM.int8 8-bit. Building it imports nothing from bitsandbytes."""
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        return BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)  # type: ignore[no-untyped-call]
    raise TrainerConfigError(f"No quantization config for {quantization!r}.")


def _load_pretrained(cfg: ModelConfig, *, device: str | None, strict: bool) -> PreTrainedModel:
    from transformers import AutoModelForCausalLM

    _require_folder(cfg)
    plan = plan_runtime(cfg.quantization, cuda_vram_bytes(), strict=strict)
    dtype = TORCH_DTYPES[cfg.dtype] if plan.device == "cuda" or strict else torch.float32
    kwargs: dict[str, Any] = {"local_files_only": True, "dtype": dtype}
    if plan.quantization != "none":
        # Only reached with CUDA present: transformers imports bitsandbytes here, lazily.
        kwargs["quantization_config"] = quantization_config(plan.quantization)
        kwargs["device_map"] = {"": 0}
    logger.info(
        "loading pretrained model path=%s device=%s dtype=%s quantization=%s tier=%s",
        cfg.path,
        device or plan.device,
        cfg.dtype,
        plan.quantization,
        plan.tier,
    )
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(str(cfg.path), **kwargs)
    except (OSError, ValueError, KeyError) as err:
        raise TrainerConfigError(
            f"Cannot load {cfg.path} as a causal language model: {str(err).splitlines()[0]}"
        ) from err
    if plan.quantization != "none":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
            model,
            use_gradient_checkpointing=cfg.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    else:
        model = _on_device(model, device or plan.device)
        _checkpointing(model, cfg)
    return cast("PreTrainedModel", model.eval())


def lora_targets(model: torch.nn.Module, cfg: ModelConfig) -> list[str] | str:
    """The modules LoRA wraps: the config's, ``"all-linear"``, or peft's default for the
    model's architecture (``config.model_type``)."""
    if cfg.lora_target_modules is not None:
        targets = list(cfg.lora_target_modules)
        return "all-linear" if targets == ["all-linear"] else targets
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    model_type = str(getattr(getattr(model, "config", None), "model_type", ""))
    default = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model_type)
    if not default:
        raise TrainerConfigError(
            f"peft has no default LoRA target modules for model type {model_type!r}: name them "
            "(--lora-targets q_proj,v_proj, or all-linear)."
        )
    return list(default)


def attach_lora(model: PreTrainedModel, cfg: ModelConfig) -> PeftModel:
    """Wrap ``model`` with a LoRA adapter; only the LoRA weights stay trainable.

    ``lora_A`` is drawn from a generator seeded by ``(cfg.seed, name)`` (the same bound as
    peft's Kaiming-uniform default) and ``lora_B`` is zero, so a fresh adapter is a no-op and
    identical on every node.
    """
    from peft import LoraConfig, get_peft_model

    targets = lora_targets(model, cfg)
    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
        # GPT-2's Conv1D stores weights transposed; peft needs to be told (else it warns)
        fan_in_fan_out=_uses_conv1d(model, targets),
    )
    try:
        peft_model = get_peft_model(model, lora)
    except ValueError as err:
        raise TrainerConfigError(
            f"LoRA target modules {targets} do not fit this model: {str(err).splitlines()[0]}"
        ) from err
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


def _uses_conv1d(model: torch.nn.Module, targets: list[str] | str) -> bool:
    from transformers.pytorch_utils import Conv1D

    if isinstance(targets, str):
        return False
    return any(
        isinstance(module, Conv1D) and name.rsplit(".", 1)[-1] in targets
        for name, module in model.named_modules()
    )


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
