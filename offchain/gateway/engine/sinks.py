"""Where the engine thread sends a request's events, and how the request side waits for them.

The engine thread never blocks on a consumer: :meth:`Sink.push` only hands the event over
(to an asyncio queue through ``call_soon_threadsafe``, or to a thread-safe queue). A
consumer that goes away calls :meth:`Sink.cancel`; the engine drops the row at its next
step. No worker thread is held while a request waits: that is what keeps the gateway from
starving its thread pool under load.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenLogprob:
    """One token's text, log-probability, UTF-8 bytes and most likely alternatives."""

    token: str
    logprob: float
    bytes: tuple[int, ...]
    top: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class EngineEvent:
    """Text that is now safe to show, with its tokens' log-probabilities (when asked); the
    last event of a request has ``finish_reason`` (or ``error``) set."""

    text: str
    logprobs: tuple[TokenLogprob, ...] = ()
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_s: float | None = None
    error: str | None = None

    @property
    def last(self) -> bool:
        return self.finish_reason is not None or self.error is not None


class Sink(Protocol):
    @property
    def cancelled(self) -> bool: ...

    def push(self, event: EngineEvent) -> None: ...


class AsyncSink:
    """Events into an :class:`asyncio.Queue` of the loop that created the sink."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[EngineEvent] = asyncio.Queue()
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True

    def push(self, event: EngineEvent) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._cancelled = True

    async def get(self) -> EngineEvent:
        return await self._queue.get()


class QueueSink:
    """Events into a thread-safe queue (synchronous callers)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[EngineEvent] = queue.Queue()
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True

    def push(self, event: EngineEvent) -> None:
        self._queue.put(event)

    def get(self, timeout: float | None = None) -> EngineEvent:
        return self._queue.get(timeout=timeout)
