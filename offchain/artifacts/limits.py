"""Bounds of one fetch: size, time (connect, read, overall deadline) and retries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FetchLimits:
    """How much and how long a fetch may take.

    ``attempts`` tries in all, pauses ``backoff_s * 2**i`` capped at ``backoff_max_s``; every
    attempt and pause counts against ``deadline_s``.
    """

    max_bytes: int = 8 * 1024**3
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    deadline_s: float = 900.0
    attempts: int = 4
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0

    def pause(self, attempt: int) -> float:
        """Pause after failed attempt ``attempt`` (0-based)."""
        return float(min(self.backoff_max_s, self.backoff_s * 2**attempt))
