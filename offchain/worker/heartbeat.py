"""Heartbeats: what a node's machine is doing (CPU, RAM, disk, GPUs), logged and published in
the pool's hivemind DHT under the node's address with a TTL, so validators can read them.

NVML is optional: GPUs are reported only when ``pynvml`` imports and finds a device.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from pydantic import BaseModel, ValidationError

from offchain.logging import kv
from offchain.shutdown import StopFlag

logger = logging.getLogger(__name__)


class GpuStats(BaseModel):
    index: int
    name: str
    utilization_percent: float
    memory_used: int
    memory_total: int


class Heartbeat(BaseModel):
    """One snapshot of a node's machine."""

    node: str
    ts: float
    cpu_percent: float
    cpu_count: int
    ram_used: int
    ram_total: int
    disk_path: str
    disk_used: int
    disk_total: int
    gpus: list[GpuStats] = []


def gpu_stats() -> list[GpuStats]:
    """GPU utilisation and memory through NVML; empty without ``pynvml`` or a GPU."""
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver / no device: NVML raises its own error types
        return []
    try:
        stats = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            util = pynvml.nvmlDeviceGetUtilizationRates(handle)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            stats.append(
                GpuStats(
                    index=index,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    utilization_percent=float(util.gpu),
                    memory_used=int(mem.used),
                    memory_total=int(mem.total),
                )
            )
        return stats
    finally:
        pynvml.nvmlShutdown()


def collect_heartbeat(node: str, data_dir: Path) -> Heartbeat:
    """A snapshot now. CPU percent is measured since the previous call (psutil semantics)."""
    ram = psutil.virtual_memory()
    disk = psutil.disk_usage(str(data_dir))
    return Heartbeat(
        node=node,
        ts=time.time(),
        cpu_percent=float(psutil.cpu_percent(interval=None)),
        cpu_count=int(psutil.cpu_count() or 1),
        ram_used=int(ram.total - ram.available),
        ram_total=int(ram.total),
        disk_path=str(data_dir),
        disk_used=int(disk.used),
        disk_total=int(disk.total),
        gpus=gpu_stats(),
    )


def log_heartbeat(beat: Heartbeat) -> None:
    logger.info(
        "heartbeat",
        extra=kv(
            node=beat.node,
            cpu_percent=beat.cpu_percent,
            ram_used=beat.ram_used,
            ram_total=beat.ram_total,
            disk_used=beat.disk_used,
            disk_total=beat.disk_total,
            gpus=len(beat.gpus),
        ),
    )


def heartbeat_key(pool_id: int | str) -> str:
    """DHT key under which the nodes of a pool publish their heartbeats (subkey: node)."""
    return f"loranet_pool{pool_id}_heartbeat"


def publish_heartbeat(dht: Any, key: str, beat: Heartbeat, *, ttl_s: float) -> bool:
    """Store ``beat`` in the DHT under ``key`` / subkey ``beat.node``, expiring after ``ttl_s``."""
    from hivemind.utils.timed_storage import get_dht_time

    stored = bool(
        dht.store(
            key,
            subkey=beat.node.lower(),
            value=beat.model_dump(mode="json"),
            expiration_time=get_dht_time() + ttl_s,
        )
    )
    if not stored:
        logger.warning("heartbeat not stored", extra=kv(key=key, node=beat.node))
    return stored


def read_heartbeats(dht: Any, key: str) -> dict[str, Heartbeat]:
    """The live heartbeats under ``key``, by node (lower-case address); malformed ones skipped."""
    found = dht.get(key, latest=True)
    if found is None or not isinstance(found.value, dict):
        return {}
    beats: dict[str, Heartbeat] = {}
    for subkey, item in found.value.items():
        try:
            beats[str(subkey)] = Heartbeat.model_validate(item.value)
        except ValidationError:
            logger.warning("malformed heartbeat skipped", extra=kv(key=key, subkey=subkey))
    return beats


def heartbeat_loop(stop: StopFlag, *, interval_s: float, beat: Callable[[], object]) -> None:
    """Call ``beat`` every ``interval_s`` seconds until ``stop`` is set (errors are logged)."""
    while not stop.is_set():
        try:
            beat()
        except Exception:
            logger.exception("heartbeat failed")
        stop.wait(interval_s)
