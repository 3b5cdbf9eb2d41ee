"""Heartbeats: collected with psutil, logged as one structured line, published in a real
hivemind DHT on loopback and read back by another peer (a validator)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from offchain.logging import StructuredFormatter
from offchain.shutdown import StopFlag
from offchain.worker.heartbeat import (
    collect_heartbeat,
    heartbeat_key,
    heartbeat_loop,
    log_heartbeat,
    publish_heartbeat,
    read_heartbeats,
)

NODE_A = "0x00000000000000000000000000000000000000Aa"
NODE_B = "0x00000000000000000000000000000000000000Bb"


@pytest.fixture(scope="module")
def dht_pair() -> Iterator[tuple[Any, Any]]:
    """Two hivemind DHT peers on 127.0.0.1: a node and a validator."""
    from hivemind import DHT

    first = DHT(start=True, host_maddrs=["/ip4/127.0.0.1/tcp/0"])
    second = DHT(
        start=True,
        host_maddrs=["/ip4/127.0.0.1/tcp/0"],
        initial_peers=[str(a) for a in first.get_visible_maddrs()],
    )
    yield first, second
    second.shutdown()
    first.shutdown()


def test_collects_machine_figures(tmp_path: Path) -> None:
    beat = collect_heartbeat(NODE_A, tmp_path)
    assert beat.node == NODE_A
    assert 0 < beat.ram_used <= beat.ram_total
    assert 0 < beat.disk_used <= beat.disk_total and beat.disk_path == str(tmp_path)
    assert beat.cpu_count >= 1 and 0.0 <= beat.cpu_percent <= 100.0 * beat.cpu_count
    assert beat.gpus == []  # no NVML here


def test_logs_one_structured_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="offchain.worker.heartbeat")
    log_heartbeat(collect_heartbeat(NODE_A, tmp_path))
    (record,) = [r for r in caplog.records if r.getMessage() == "heartbeat"]
    line = StructuredFormatter("kv").format(record)
    assert "\n" not in line
    assert f"node={NODE_A}" in line and "ram_total=" in line and "gpus=0" in line


def test_published_heartbeats_are_read_by_another_peer(
    dht_pair: tuple[Any, Any], tmp_path: Path, wait_until: Callable[..., None]
) -> None:
    node_dht, validator_dht = dht_pair
    key = heartbeat_key(7)
    assert publish_heartbeat(node_dht, key, collect_heartbeat(NODE_A, tmp_path), ttl_s=60)
    assert publish_heartbeat(validator_dht, key, collect_heartbeat(NODE_B, tmp_path), ttl_s=60)

    wait_until(lambda: len(read_heartbeats(validator_dht, key)) == 2, timeout=20)
    beats = read_heartbeats(validator_dht, key)
    assert set(beats) == {NODE_A.lower(), NODE_B.lower()}
    assert beats[NODE_A.lower()].node == NODE_A
    assert read_heartbeats(validator_dht, heartbeat_key(8)) == {}


def test_heartbeats_expire_after_their_ttl(
    dht_pair: tuple[Any, Any], tmp_path: Path, wait_until: Callable[..., None]
) -> None:
    node_dht, validator_dht = dht_pair
    key = heartbeat_key("ttl")
    assert publish_heartbeat(node_dht, key, collect_heartbeat(NODE_A, tmp_path), ttl_s=1.0)
    assert NODE_A.lower() in read_heartbeats(validator_dht, key)
    wait_until(lambda: read_heartbeats(validator_dht, key) == {}, timeout=10)


def test_loop_beats_until_stopped() -> None:
    stop = StopFlag()
    beats: list[int] = []

    def beat() -> None:
        beats.append(1)
        if len(beats) == 3:
            stop.set("test")

    heartbeat_loop(stop, interval_s=0.01, beat=beat)
    assert len(beats) == 3 and stop.reason == "test"


def test_gpu_figures_come_from_nvml_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU here: a stand-in ``pynvml`` module checks how NVML answers are read."""
    import sys
    import types

    from offchain.worker.heartbeat import gpu_stats

    calls: list[str] = []
    fake = types.ModuleType("pynvml")
    fake.nvmlInit = lambda: calls.append("init")  # type: ignore[attr-defined]
    fake.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    fake.nvmlDeviceGetCount = lambda: 1  # type: ignore[attr-defined]
    fake.nvmlDeviceGetHandleByIndex = lambda i: f"gpu{i}"  # type: ignore[attr-defined]
    fake.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=37)  # type: ignore[attr-defined]
    fake.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=2**30, total=80 * 2**30)  # type: ignore[attr-defined]
    fake.nvmlDeviceGetName = lambda h: b"NVIDIA H100"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", fake)

    (gpu,) = gpu_stats()
    assert gpu.name == "NVIDIA H100" and gpu.utilization_percent == 37.0
    assert (gpu.memory_used, gpu.memory_total) == (2**30, 80 * 2**30)
    assert calls == ["init", "shutdown"]

    def no_driver() -> None:
        raise RuntimeError("NVML Shared Library Not Found")

    fake.nvmlInit = no_driver  # type: ignore[attr-defined]
    assert gpu_stats() == []
