"""Device choice, a model tier picked by available VRAM, and the precision a machine can run.

Only the pure planning logic runs on CPU machines; CUDA is probed through torch and
bitsandbytes is never imported here (``models.build_base_model`` imports it lazily through
transformers, and only when a GPU and a quantized load are both present).

Precision is a pool setting (``ModelConfig.dtype`` / ``quantization``): every node trains and
every validator replays in it, so a machine that cannot run it exactly must say so
(:func:`precision_problem`) instead of silently running something else. Only the
``loranet train`` CLI, where no pool is involved, picks one from the tier
(:func:`resolve_precision`).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch

from trainer.errors import PrecisionUnavailableError

if TYPE_CHECKING:
    from trainer.config import ModelConfig

logger = logging.getLogger(__name__)

GIB = 1024**3

Quantization = Literal["none", "8bit", "4bit"]
DType = Literal["fp32", "bf16", "fp16"]

TORCH_DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}


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


def plan_runtime(
    requested: Quantization = "none", vram_bytes: int | None = None, *, strict: bool = False
) -> RuntimePlan:
    """Pick device, quantization and model tier.

    ``vram_bytes=None`` means no GPU: the CPU path, full precision, no bitsandbytes. A
    requested quantization is then refused with :class:`PrecisionUnavailableError` when
    ``strict`` (training and replay: the pool's precision or nothing), else dropped with a
    warning (serving). With a GPU the tier follows the VRAM and suggests a quantization and
    the largest base model that fits; the quantization the config asks for is the one used.
    """
    if vram_bytes is None:
        if requested != "none":
            if strict:
                raise PrecisionUnavailableError(
                    f"quantization={requested} needs a CUDA GPU and bitsandbytes "
                    "(pip install 'loranet[gpu]'); this machine has no GPU."
                )
            logger.warning("quantization=%s needs a CUDA GPU; loading in fp32 on CPU", requested)
        return RuntimePlan("cpu", "none", "cpu", "none", max_params_billion=0.5)
    for min_bytes, tier, suggested, max_params in _TIERS:
        if vram_bytes >= min_bytes:
            return RuntimePlan("cuda", requested, tier, suggested, max_params)
    raise AssertionError("unreachable: the last tier accepts any VRAM")  # pragma: no cover


def bitsandbytes_available() -> bool:
    """Whether bitsandbytes is installed (it is never imported here)."""
    return importlib.util.find_spec("bitsandbytes") is not None


def bf16_supported(vram_bytes: int | None) -> bool:
    """bf16 on this machine: any CPU (torch emulates it), a GPU of compute capability >= 8."""
    if vram_bytes is None:
        return True
    return bool(torch.cuda.is_bf16_supported())


def precision_problem(
    cfg: ModelConfig, vram_bytes: int | None = None, *, has_bitsandbytes: bool | None = None
) -> str | None:
    """Why this machine cannot run ``cfg`` in its own dtype and quantization, or ``None``.

    ``vram_bytes`` defaults to this machine's GPU (``None``: no GPU); ``has_bitsandbytes``
    to whether it is installed. A validator that gets a reason abstains.
    """
    if vram_bytes is None:
        vram_bytes = cuda_vram_bytes()
    if has_bitsandbytes is None:
        has_bitsandbytes = bitsandbytes_available()
    if cfg.quantization != "none":
        if vram_bytes is None:
            return (
                f"the pool trains a {cfg.quantization} quantized base model, which needs a CUDA "
                "GPU; this machine has none"
            )
        if not has_bitsandbytes:
            return (
                f"the pool trains a {cfg.quantization} quantized base model, which needs "
                "bitsandbytes: pip install 'loranet[gpu]'"
            )
    if cfg.dtype == "fp16" and vram_bytes is None:
        return "the pool trains in fp16, which needs a CUDA GPU; this machine has none"
    if cfg.dtype == "bf16" and not bf16_supported(vram_bytes):
        return "the pool trains in bf16, which this GPU does not support (compute capability < 8)"
    return None


def require_precision(cfg: ModelConfig) -> None:
    """Raise :class:`PrecisionUnavailableError` when this machine cannot run ``cfg`` exactly."""
    problem = precision_problem(cfg)
    if problem is not None:
        raise PrecisionUnavailableError(f"Cannot load the model as configured: {problem}.")


def resolve_precision(
    dtype: str, quantization: str, vram_bytes: int | None, *, pretrained: bool
) -> tuple[DType, Quantization]:
    """``auto`` values of the CLI made concrete from this machine's tier.

    No GPU (or the built-in tiny model): fp32, not quantized. A GPU: bf16 where supported
    (else fp16) and the tier's suggested quantization (:data:`_TIERS`) for a pretrained model.
    """
    if dtype == "auto":
        if vram_bytes is None or not pretrained:
            dtype = "fp32"
        else:
            dtype = "bf16" if bf16_supported(vram_bytes) else "fp16"
    if quantization == "auto":
        if vram_bytes is None or not pretrained or not bitsandbytes_available():
            quantization = "none"
        else:
            quantization = plan_runtime("none", vram_bytes).suggested_quantization
    if dtype not in TORCH_DTYPES:
        raise PrecisionUnavailableError(f"Unknown dtype {dtype!r} (fp32, bf16, fp16 or auto).")
    if quantization not in ("none", "8bit", "4bit"):
        raise PrecisionUnavailableError(
            f"Unknown quantization {quantization!r} (none, 8bit, 4bit or auto)."
        )
    return dtype, quantization  # type: ignore[return-value]
