"""Per-key rate limiting with token buckets.

Each key owns a bucket of ``burst`` tokens refilled at ``requests_per_minute / 60`` tokens
per second; a request takes one token. An empty bucket refuses the request and says how
many seconds until a token is back (the ``Retry-After`` of the 429 answer).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Token buckets by key id; thread-safe; ``clock`` is injectable for tests."""

    requests_per_minute: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def rate(self) -> float:
        return self.requests_per_minute / 60.0

    def acquire(self, key_id: str) -> float | None:
        """Take a token for ``key_id``: None when allowed, else seconds to wait (>= 1)."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = _Bucket(float(self.burst), now)
            bucket.tokens = min(
                float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate
            )
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return float(max(1, math.ceil((1.0 - bucket.tokens) / self.rate)))
