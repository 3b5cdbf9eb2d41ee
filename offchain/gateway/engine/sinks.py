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
import threading
import weakref
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


class _Dispatcher:
    """Hands events from the engine thread to one event loop with one wake-up per batch of
    events (not one per event): a decode step of 64 rows wakes the loop once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pending: list[tuple[asyncio.Queue[EngineEvent], EngineEvent]] = []
        self._lock = threading.Lock()
        self._scheduled = False

    def push(self, queue: asyncio.Queue[EngineEvent], event: EngineEvent) -> None:
        with self._lock:
            self._pending.append((queue, event))
            if self._scheduled:
                return
            self._scheduled = True
        self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            items, self._pending = self._pending, []
            self._scheduled = False
        for target, event in items:
            target.put_nowait(event)


_dispatchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Dispatcher] = (
    weakref.WeakKeyDictionary()
)
_dispatchers_lock = threading.Lock()


def _dispatcher(loop: asyncio.AbstractEventLoop) -> _Dispatcher:
    with _dispatchers_lock:
        found = _dispatchers.get(loop)
        if found is None:
            found = _dispatchers[loop] = _Dispatcher(loop)
        return found


class AsyncSink:
    """Events into an :class:`asyncio.Queue` of the loop that created the sink."""

    def __init__(self) -> None:
        self._dispatch = _dispatcher(asyncio.get_running_loop())
        self._queue: asyncio.Queue[EngineEvent] = asyncio.Queue()
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True

    def push(self, event: EngineEvent) -> None:
        try:
            self._dispatch.push(self._queue, event)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._cancelled = True

    async def get(self) -> EngineEvent:
        return await self._queue.get()

    async def get_merged(self) -> EngineEvent:
        """The next event merged with every other already waiting (text and log-probabilities
        joined, counts and finish from the latest): a consumer that fell behind catches up
        with one bigger chunk instead of many small ones."""
        event = await self._queue.get()
        while not event.last and not self._queue.empty():
            later = self._queue.get_nowait()
            event = EngineEvent(
                text=event.text + later.text,
                logprobs=event.logprobs + later.logprobs,
                finish_reason=later.finish_reason,
                prompt_tokens=later.prompt_tokens,
                completion_tokens=later.completion_tokens,
                first_token_s=event.first_token_s,
                error=later.error,
            )
        return event


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
