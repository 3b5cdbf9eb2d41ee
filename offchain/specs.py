"""A compute node's hardware specs: detected, validated, and turned into compute units.

The specs file is what a provider registers for a node (only its keccak256 goes on chain,
``offchain.chain.signing.specs_hash``) and what validators check against the machine. One flat
JSON object, written by ``loranet node specs`` or by hand::

    {"gpu": "NVIDIA H200", "gpu_count": 1, "vram_gb": 141, "cpu": "AMD EPYC 9654",
     "cpu_cores": 16, "ram_gb": 128, "disk_gb": 64, "units": 141}

Compute units (the rule, also in docs/provider.md): **one unit per whole GB of GPU memory,
summed over the node's GPUs** (``gpu_count * floor(vram_gb)``); a node without a GPU has
**1** unit. GPU memory bounds the model a node can fine-tune and the batch it can hold, so
it is what the protocol prices: the minimum stake grows by ``perUnit`` LORA per unit.
A node may declare fewer units than its hardware allows, never more; a ``units`` field in
the file is the declaration and ``--units`` must agree with it.

Detection uses NVML (``nvidia-ml-py``, when installed and a driver is present) for GPUs and
psutil for CPU, memory and disk; without NVML it falls back to ``torch.cuda`` when torch is
importable, else reports no GPU.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from offchain.errors import LoranetError
from offchain.logging import kv

logger = logging.getLogger(__name__)

GB = 2**30  # "GB" as GPU vendors count it (a 24 GB card reports 24 GiB)
MAX_UNITS = 2**32 - 1  # the registry stores uint32
CPU_ONLY_UNITS = 1


class SpecsError(LoranetError):
    """A specs file is unreadable, does not follow the schema, or disagrees with --units."""


class NodeSpecs(BaseModel):
    """The schema of a node specs file (unknown keys are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gpu: str | None = Field(None, min_length=1, max_length=200, description="GPU model.")
    gpu_count: int | None = Field(None, ge=0, le=1024, description="Number of GPUs.")
    vram_gb: float | None = Field(None, ge=0, le=100_000, description="Memory of one GPU, GB.")
    cpu: str | None = Field(None, min_length=1, max_length=200, description="CPU model.")
    cpu_cores: int | None = Field(None, ge=1, le=100_000, description="Logical CPU cores.")
    ram_gb: float | None = Field(None, ge=0, le=1_000_000, description="System memory, GB.")
    disk_gb: float | None = Field(None, ge=0, le=1_000_000_000, description="Free disk, GB.")
    units: int | None = Field(None, ge=1, le=MAX_UNITS, description="Declared compute units.")

    @model_validator(mode="after")
    def _consistent(self) -> NodeSpecs:
        if self.gpu is not None and self.vram_gb is None:
            raise ValueError("'vram_gb' is needed with 'gpu'")
        if self.units is not None and self.units > self.max_units:
            raise ValueError(
                f"'units' is {self.units} but this hardware allows at most {self.max_units} "
                "(one per GB of GPU memory)"
            )
        return self

    @property
    def gpus(self) -> int:
        if self.gpu is None and not self.vram_gb:
            return 0
        return self.gpu_count if self.gpu_count is not None else 1

    @property
    def max_units(self) -> int:
        """The rule: ``gpu_count * floor(vram_gb)``, or 1 without a GPU."""
        if self.gpus == 0 or not self.vram_gb:
            return CPU_ONLY_UNITS
        return max(min(self.gpus * math.floor(self.vram_gb), MAX_UNITS), CPU_ONLY_UNITS)

    @property
    def declared_units(self) -> int:
        return self.units if self.units is not None else self.max_units

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def load_specs(path: Path) -> NodeSpecs:
    """Read and validate a specs file.

    Raises:
        SpecsError: unreadable, not a JSON object, or against the schema (field named).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not UTF-8 text"
        raise SpecsError(f"cannot read the specs file {path}: {reason}.") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise SpecsError(f"the specs file {path} is not valid JSON.") from None
    if not isinstance(data, dict):
        raise SpecsError(
            f"the specs file {path} must be a JSON object of specs (see `loranet node specs`)."
        )
    try:
        return NodeSpecs.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ").rstrip(".")
        if first["type"] == "extra_forbidden":
            message = "unknown key (known: " + ", ".join(NodeSpecs.model_fields) + ")"
        where = f" '{field}'" if field else ""
        raise SpecsError(f"the specs file {path} is invalid:{where} {message}.") from None


def units_for(specs: NodeSpecs, requested: int | None, *, path: Path) -> int:
    """The compute units to register: ``--units`` when given, else the file's declaration
    (or the rule's value).

    Raises:
        SpecsError: ``--units`` differs from the file's ``units``, or exceeds the rule.
    """
    if requested is None:
        return specs.declared_units
    if specs.units is not None and requested != specs.units:
        raise SpecsError(
            f"--units {requested} disagrees with 'units': {specs.units} in the specs file "
            f"{path}: drop --units or fix the file."
        )
    if requested > specs.max_units:
        raise SpecsError(
            f"--units {requested} is more than the hardware in {path} allows "
            f"({specs.max_units}: one unit per GB of GPU memory, 1 without a GPU)."
        )
    return requested


# -- detection ---------------------------------------------------------------------------


def detect(disk_path: Path | None = None) -> NodeSpecs:
    """This machine's specs: GPUs (NVML, else torch), CPU, memory and free disk (psutil)."""
    import psutil

    gpus = _gpus()
    names = sorted({name for name, _ in gpus})
    vram = min((mem for _, mem in gpus), default=0)
    disk = psutil.disk_usage(str(disk_path or Path.home())).free
    specs = NodeSpecs(
        gpu=", ".join(names) if names else None,
        gpu_count=len(gpus) if gpus else None,
        vram_gb=round(vram / GB, 1) if gpus else None,
        cpu=_cpu_model(),
        cpu_cores=psutil.cpu_count(logical=True) or os.cpu_count() or 1,
        ram_gb=round(psutil.virtual_memory().total / GB, 1),
        disk_gb=round(disk / GB, 1),
    )
    logger.info(
        "specs detected",
        extra=kv(gpus=len(gpus), vram_gb=specs.vram_gb, cores=specs.cpu_cores, ram=specs.ram_gb),
    )
    return specs.model_copy(update={"units": specs.max_units})


def _gpus() -> list[tuple[str, int]]:
    """(model, total memory in bytes) of every GPU; NVML first, torch.cuda second."""
    try:
        import pynvml  # from nvidia-ml-py

        pynvml.nvmlInit()
    except Exception as err:  # no package, no driver, no device: all mean "no NVML"
        logger.info("nvml unavailable", extra=kv(error=type(err).__name__))
        return _torch_gpus()
    try:
        found = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            name = name.decode() if isinstance(name, bytes) else str(name)
            found.append((name, int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)))
        return found
    finally:
        pynvml.nvmlShutdown()


def _torch_gpus() -> list[tuple[str, int]]:
    try:
        import torch

        if not torch.cuda.is_available():
            return []
        return [
            (torch.cuda.get_device_name(i), int(torch.cuda.get_device_properties(i).total_memory))
            for i in range(torch.cuda.device_count())
        ]
    except Exception as err:  # torch missing or a broken CUDA setup: no GPU to report
        logger.info("torch cuda unavailable", extra=kv(error=type(err).__name__))
        return []


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return platform.processor() or None
