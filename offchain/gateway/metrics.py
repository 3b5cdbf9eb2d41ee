"""Prometheus metrics of the gateway, on its own registry (never the global one)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class GatewayMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "loranet_gateway_requests",
            "HTTP requests by endpoint and status code.",
            ["endpoint", "status"],
            registry=r,
        )
        self.generations = Counter(
            "loranet_gateway_generations",
            "Completions served, by generator and execution mode.",
            ["generator", "mode", "stream"],
            registry=r,
        )
        self.tokens = Counter(
            "loranet_gateway_tokens", "Tokens processed.", ["generator", "kind"], registry=r
        )
        self.generator_failures = Counter(
            "loranet_gateway_generator_failures",
            "Generator failures that made the chain fall back.",
            ["generator"],
            registry=r,
        )
        self.rate_limited = Counter(
            "loranet_gateway_rate_limited", "Requests refused with 429.", registry=r
        )
        self.latency = Histogram(
            "loranet_gateway_request_seconds",
            "Time to serve a completion (whole stream for streams).",
            ["endpoint"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )

        self.ttft = Histogram(
            "loranet_gateway_time_to_first_token_seconds",
            "Time from a request's arrival at its generator to its first token.",
            ["generator"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.queue_depth = Gauge(
            "loranet_gateway_queue_depth",
            "Requests waiting for a local engine (per base model).",
            ["model"],
            registry=r,
        )
        self.running = Gauge(
            "loranet_gateway_running_requests",
            "Requests a local engine is decoding (per base model).",
            ["model"],
            registry=r,
        )

    def engine_stats(self, model: str, waiting: int, running: int) -> None:
        self.queue_depth.labels(model).set(waiting)
        self.running.labels(model).set(running)

    def render(self) -> bytes:
        return generate_latest(self.registry)
