"""Prometheus metrics of one service, on its own registry (never the global one)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from offchain.logging import kv

logger = logging.getLogger(__name__)


@dataclass
class MetricsServer:
    """A running ``/metrics`` endpoint; :meth:`stop` shuts it down."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@dataclass
class WorkerMetrics:
    """The counters of the worker service."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events_processed = Counter(
            "loranet_events_processed", "Events handled by tasks.", ["event"], registry=r
        )
        self.events_dispatched = Counter(
            "loranet_events_dispatched", "Events the watcher dispatched.", registry=r
        )
        self.tasks = Counter(
            "loranet_tasks", "Tasks by kind and outcome.", ["kind", "status"], registry=r
        )
        self.tx_sent = Counter("loranet_tx_sent", "Transactions broadcast.", ["kind"], registry=r)
        self.tx_failed = Counter(
            "loranet_tx_failed", "Transactions reverted or refused.", ["kind"], registry=r
        )
        self.tx_replaced = Counter(
            "loranet_tx_replaced", "Stuck transactions replaced.", ["kind"], registry=r
        )
        self.tx_reopened = Counter(
            "loranet_tx_reopened",
            "Confirmed transactions re-sent after a reorg dropped them.",
            ["kind"],
            registry=r,
        )
        self.reorg_too_deep = Counter(
            "loranet_watcher_reorg_too_deep",
            "Reorgs below every stored block hash (the watcher re-anchored; alert).",
            registry=r,
        )
        self.step_failures = Counter(
            "loranet_service_step_failures",
            "Failures of a service loop step (watcher, rounds, outbox), retried with backoff.",
            ["step"],
            registry=r,
        )
        self.training_steps = Counter("loranet_training_steps", "Local training steps.", registry=r)
        self.cursor_block = Gauge(
            "loranet_watcher_cursor_block", "Last block the watcher processed.", registry=r
        )
        self.last_heartbeat = Gauge(
            "loranet_last_heartbeat_timestamp", "Unix time of the last heartbeat.", registry=r
        )

    def serve(self, port: int, host: str = "127.0.0.1") -> MetricsServer:
        """Serve ``/metrics`` on ``host:port`` (port 0 picks a free one) in a daemon thread."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        handle = MetricsServer(server=server, thread=thread)
        logger.info("metrics endpoint up", extra=kv(host=host, port=handle.port))
        return handle
