"""Prometheus metrics on a per-service registry, scraped over HTTP."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from offchain.worker.metrics import MetricsServer, WorkerMetrics


@pytest.fixture
def served() -> Iterator[tuple[WorkerMetrics, MetricsServer]]:
    metrics = WorkerMetrics()
    server = metrics.serve(0)
    yield metrics, server
    server.stop()


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def test_counters_are_scraped(served: tuple[WorkerMetrics, MetricsServer]) -> None:
    metrics, server = served
    metrics.events_processed.labels(event="Transfer").inc(3)
    metrics.tasks.labels(kind="event", status="done").inc()
    metrics.tx_sent.labels(kind="report").inc()
    metrics.tx_failed.labels(kind="report").inc(2)
    metrics.training_steps.inc(10)
    metrics.cursor_block.set(42)

    text = _scrape(server.port)
    assert 'loranet_events_processed_total{event="Transfer"} 3.0' in text
    assert 'loranet_tasks_total{kind="event",status="done"} 1.0' in text
    assert 'loranet_tx_sent_total{kind="report"} 1.0' in text
    assert 'loranet_tx_failed_total{kind="report"} 2.0' in text
    assert "loranet_training_steps_total 10.0" in text
    assert "loranet_watcher_cursor_block 42.0" in text


def test_services_do_not_share_a_registry(served: tuple[WorkerMetrics, MetricsServer]) -> None:
    metrics, server = served
    other = WorkerMetrics()  # a second service in the same process: no duplicate-name error
    other.training_steps.inc(5)
    metrics.training_steps.inc(1)
    assert "loranet_training_steps_total 1.0" in _scrape(server.port)
    assert "python_gc" not in _scrape(server.port)  # not the global registry
