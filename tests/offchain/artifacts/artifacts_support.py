"""Shared pieces of the artifact store tests (imported by name: pytest puts this folder on
``sys.path``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Behaviour:
    """What the scripted server does: ``fail_first`` 503s, then ``body`` (optionally slowly)."""

    body: bytes = b""
    fail_first: int = 0
    status: int = 200
    delay_s: float = 0.0  # before answering
    trickle_s: float = 0.0  # between bytes of the body
    claimed_length: int | None = None  # None: the body's; -1: no header
    requests: list[str] = field(default_factory=list)
