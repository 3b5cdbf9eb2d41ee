"""Device choice and a model tier picked by available VRAM.

Only the pure planning logic runs on CPU machines; CUDA is probed through torch and
bitsandbytes is never imported here (``models.build_base_model`` imports it lazily through
transformers, and only when a GPU and a quantized load are both present).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import torch

logger = logging.getLogger(__name__)

GIB = 1024**3

Quantization = Literal["none", "8bit", "4bit"]


@dataclass(frozen=True)
class RuntimePlan:
    """Where and how to load a model."""

    device: str
    quantization: Quantization
    tier: str
    suggested_quantization: Quantization
    max_params_billion: float


# (minimum free VRAM, tier name, quantization, largest base model that fits for LoRA training)
_TIERS: tuple[tuple[float, str, Quantization, float], ...] = (
    (40 * GIB, "xl", "none", 13.0),
    (20 * GIB, "large", "8bit", 13.0),
    (10 * GIB, "medium", "4bit", 13.0),
    (6 * GIB, "small", "4bit", 7.0),
    (0, "tiny", "4bit", 1.5),
)


def cuda_vram_bytes() -> int | None:
    """Total memory of GPU 0 in bytes, or None when CUDA is not available."""
    if not torch.cuda.is_available():
        return None
    return int(torch.cuda.get_device_properties(0).total_memory)


def default_device() -> str:
    """``"cuda"`` when a GPU is present, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def plan_runtime(requested: Quantization = "none", vram_bytes: int | None = None) -> RuntimePlan:
    """Pick device, quantization and model tier.

    ``vram_bytes=None`` means no GPU: the CPU path, full precision, no bitsandbytes (a
    requested quantization is dropped with a warning). With a GPU the tier follows the VRAM
    and suggests a quantization and the largest base model that fits; the quantization the
    config asks for is the one used.
    """
    if vram_bytes is None:
        if requested != "none":
            logger.warning("quantization=%s needs a CUDA GPU; loading in fp32 on CPU", requested)
        return RuntimePlan("cpu", "none", "cpu", "none", max_params_billion=0.5)
    for min_bytes, tier, suggested, max_params in _TIERS:
        if vram_bytes >= min_bytes:
            return RuntimePlan("cuda", requested, tier, suggested, max_params)
    raise AssertionError("unreachable: the last tier accepts any VRAM")  # pragma: no cover
