"""Several LoRA adapters on one base model, chosen per row of a batch.

The base weights are never merged. Each adapter takes a slot (slot 0 is "no adapter":
zeros); for every LoRA target module (``ModelConfig.lora_target_modules``, e.g.
``q_proj``/``v_proj``) the bank stacks the slots' ``A`` (``[slots, r, in]``) and ``B``
(``[slots, out, r]``) and a forward hook adds ``scale * B[slot] @ (A[slot] @ x)`` to the
module's output for each row, ``scale = lora_alpha / r`` as peft computes it. Before each
forward the decoder sets :attr:`LoraBank.active` to the rows' slots (``None`` when every
row uses the base model: the hooks then cost nothing). The same hook works on quantised
(bitsandbytes) linear layers, whose output is an ordinary tensor.

Adapter files are peft state dicts saved canonically (``trainer.artifacts``): keys
``base_model.model.<module>.lora_A.weight`` / ``lora_B.weight``.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from offchain.gateway.errors import GeneratorError
from trainer.config import ModelConfig

logger = logging.getLogger(__name__)

_PREFIX = "base_model.model."


def _features(module: torch.nn.Module) -> tuple[int, int] | None:
    """``(in, out)`` of a linear layer, or of GPT-2's ``Conv1D`` (``nx``/``nf``: same product
    ``x @ W``, weight stored transposed; peft's LoRA matrices have the usual shapes)."""
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        return int(module.in_features), int(module.out_features)
    if hasattr(module, "nx") and hasattr(module, "nf"):
        return int(module.nx), int(module.nf)
    return None


class LoraBank:
    def __init__(self, model: torch.nn.Module, cfg: ModelConfig, device: str) -> None:
        self._device = device
        self._scale = cfg.lora_alpha / cfg.lora_r
        self._rank = cfg.lora_r
        self._dtype = next(model.parameters()).dtype
        from trainer.models import lora_targets

        targets = lora_targets(model, cfg)  # the config's, or peft's default for the model
        self._modules: dict[str, torch.nn.Module] = {
            name: module
            for name, module in model.named_modules()
            if _features(module) is not None
            and (
                name.rsplit(".", 1)[-1] in targets
                if not isinstance(targets, str)  # "all-linear": every linear but the head
                else isinstance(module, torch.nn.Linear) and not name.endswith("lm_head")
            )
        }
        self._a: dict[str, torch.Tensor] = {}
        self._b: dict[str, torch.Tensor] = {}
        self.slots: dict[str, int] = {}
        self.active: torch.Tensor | None = None
        for name, module in self._modules.items():
            fan_in, fan_out = _features(module) or (0, 0)
            self._a[name] = torch.zeros(1, self._rank, fan_in, device=device, dtype=self._dtype)
            self._b[name] = torch.zeros(1, fan_out, self._rank, device=device, dtype=self._dtype)
            module.register_forward_hook(self._hook(name))

    def _hook(self, name: str) -> Any:
        def hook(_module: torch.nn.Module, inputs: tuple[Any, ...], output: Any) -> Any:
            slots = self.active
            if slots is None:
                return output
            x = inputs[0].to(self._dtype)
            a = self._a[name][slots]  # [B, r, in]
            b = self._b[name][slots]  # [B, out, r]
            delta = torch.einsum("btr,bor->bto", torch.einsum("bti,bri->btr", x, a), b)
            return output + (self._scale * delta).to(output.dtype)

        return hook

    def slot_of(self, adapter: str | None) -> int:
        return 0 if adapter is None else self.slots[adapter]

    def add(self, adapter: str, state: dict[str, torch.Tensor]) -> None:
        """Load ``state`` (a peft LoRA state dict) into a new slot named ``adapter``.

        Raises:
            GeneratorError: the adapter does not fit this base model.
        """
        wanted = {f"{_PREFIX}{m}.lora_{p}.weight" for m in self._modules for p in "AB"}
        if set(state) != wanted:
            missing, extra = sorted(wanted - set(state)), sorted(set(state) - wanted)
            raise GeneratorError(
                f"adapter '{adapter}' does not fit its base model "
                f"(missing {missing[:2]}, unexpected {extra[:2]})."
            )
        new_a: dict[str, torch.Tensor] = {}
        new_b: dict[str, torch.Tensor] = {}
        for name in self._modules:
            a = state[f"{_PREFIX}{name}.lora_A.weight"]
            b = state[f"{_PREFIX}{name}.lora_B.weight"]
            if a.shape != self._a[name].shape[1:] or b.shape != self._b[name].shape[1:]:
                raise GeneratorError(
                    f"adapter '{adapter}' has LoRA shapes {tuple(a.shape)}/{tuple(b.shape)} at "
                    f"{name}; the base model expects {tuple(self._a[name].shape[1:])}/"
                    f"{tuple(self._b[name].shape[1:])}."
                )
            new_a[name] = a.to(self._device, self._dtype)[None]
            new_b[name] = b.to(self._device, self._dtype)[None]
        # Always a new slot: rows still decoding with the old weights keep their slot.
        for name in self._modules:
            self._a[name] = torch.cat([self._a[name], new_a[name]])
            self._b[name] = torch.cat([self._b[name], new_b[name]])
        self.slots[adapter] = (
            self._a[next(iter(self._modules))].shape[0] - 1 if self._modules else 0
        )
        logger.info("adapter in bank adapter=%s slot=%d", adapter, self.slots[adapter])
