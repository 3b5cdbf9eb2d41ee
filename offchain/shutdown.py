"""Graceful shutdown: SIGINT/SIGTERM set a stop flag; loops finish their current step and exit."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from offchain.logging import kv

logger = logging.getLogger(__name__)


class StopFlag:
    """A thread-safe flag that long-running loops poll between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def set(self, reason: str = "requested") -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to ``timeout`` seconds, waking early when the flag is set; return the flag."""
        return self._event.wait(timeout)


@contextmanager
def stop_on_signals(
    flag: StopFlag, signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
) -> Iterator[StopFlag]:
    """Within the block, the given signals set ``flag`` instead of killing the process.

    A second signal while stopping restores the previous handler, so a third one (or the
    default SIGINT behaviour) ends the process the hard way. Previous handlers are restored on
    exit. Only the main thread may install signal handlers.
    """
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def _handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if flag.is_set():
            logger.warning("second signal, restoring default handler", extra=kv(signal=name))
            signal.signal(signum, previous[signal.Signals(signum)])
            return
        logger.info("stop requested, finishing the current step", extra=kv(signal=name))
        flag.set(name)

    for sig in signals:
        signal.signal(sig, _handler)
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
