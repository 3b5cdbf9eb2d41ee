"""The interface every generator implements, and the values it takes and returns.

Generators are synchronous (torch and subprocesses are); the app runs them in a thread pool.
A generator raises :class:`~offchain.gateway.errors.GeneratorError` when it cannot serve
(the chain falls back to the next one) and
:class:`~offchain.gateway.errors.GenerationInputError` when the request is at fault.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from offchain.gateway.config import ExecutionMode

logger = logging.getLogger(__name__)

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class ChatTurn:
    role: str
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """One completion to produce. ``messages`` is set for chat requests (the ``api``
    generator forwards them as they are); ``prompt`` is always the rendered text."""

    model: str
    prompt: str
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    messages: tuple[ChatTurn, ...] | None = None


@dataclass
class GenerationResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason


@dataclass
class StreamState:
    """Filled in by a generator's stream while (and when) it runs."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: FinishReason = "stop"
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


class Generator(abc.ABC):
    """A way to turn a :class:`GenerationRequest` into text."""

    name: str
    mode: ExecutionMode

    def __init__(self, name: str, mode: ExecutionMode, models: list[str] | None) -> None:
        self.name = name
        self.mode = mode
        self._served = set(models) if models is not None else None

    def serves(self, model: str) -> bool:
        """Whether this generator is configured for ``model``."""
        return self._served is None or model in self._served

    def start(self) -> None:  # noqa: B027 - optional hook
        """Load what is needed (called once at app start-up; may raise GeneratorError)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (called once at shutdown)."""

    def describe(self) -> dict[str, object]:
        """Extra facts for ``/health`` (device, loaded models...)."""
        return {}

    @abc.abstractmethod
    def check(self, model: str | None = None) -> None:
        """Health check (of ``model``, or of everything served): return when ready, raise
        GeneratorError otherwise."""

    @abc.abstractmethod
    def generate(self, request: GenerationRequest) -> GenerationResult:
        """The whole completion."""

    @abc.abstractmethod
    def stream(self, request: GenerationRequest, state: StreamState) -> Iterator[str]:
        """Text deltas; ``state`` holds token counts and finish reason once exhausted."""


def close_iterator(it: Iterator[str]) -> None:
    """Close a generator-like iterator (runs its ``finally`` blocks); others are left alone."""
    close = getattr(it, "close", None)
    if close is not None:
        close()
