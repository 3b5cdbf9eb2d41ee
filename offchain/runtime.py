"""The one service runtime: a loop that owns start, steps, backoff, signals and close.

Both long-running services (``loranet worker run``, ``loranet validator run``) are a list of
named steps run in turn, every ``interval_s``, until a stop flag is set (SIGINT/SIGTERM through
:func:`offchain.shutdown.stop_on_signals`, or ``max_steps``). The runtime's rules:

- **Isolation**: each step runs on its own. A failing step (an RPC outage for the watcher, a
  full disk for the round work) does not keep the others from running: the outbox keeps
  settling transactions and the round clock keeps scheduling while the watcher is down.
- **Backoff**: a step that fails is skipped for a delay that doubles with each consecutive
  failure (``backoff_base_s`` … ``backoff_max_s``, with jitter so that many nodes do not retry
  in step), and runs again as soon as the delay is over; one success resets it. An outage
  therefore costs a few calls a minute, not one a second.
- **Logs**: one line per failure with the step, the consecutive count and the next retry; the
  traceback only on the first failure of a streak (the rest are the same outage). Recovery
  logs one line too.
- **Health**: :meth:`ServiceRuntime.health` says which steps are failing and since when (the
  services put it in their status and metrics).
- **Close**: ``on_close`` callbacks run once, in reverse order of registration, whatever ended
  the loop; a failing callback is logged and the others still run.

SIGTERM's bound: the loop checks the flag between steps, so a stop waits for the step running
at that moment to return (each step is bounded by its own timeouts: RPC calls, the outbox pass)
and nothing new starts after it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from offchain.db import StorageError
from offchain.logging import kv

logger = logging.getLogger(__name__)


def is_transient(err: BaseException) -> bool:
    """Whether retrying the same work later may succeed: the disk (full, read-only, I/O), the
    network (timeouts, refused connections, an RPC or a store that does not answer), or an
    error class that says so (``transient = True``). Bugs and refusals are not transient."""
    flag = getattr(err, "transient", None)
    if isinstance(flag, bool):
        return flag
    return isinstance(err, OSError | TimeoutError | ConnectionError | StorageError)


class Stoppable(Protocol):
    """What the runtime needs of a stop flag (:class:`offchain.shutdown.StopFlag`)."""

    reason: str | None

    def is_set(self) -> bool: ...

    def set(self, reason: str = ...) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass
class StepState:
    """Health of one step."""

    name: str
    failures: int = 0
    failing_since: float | None = None
    retry_at: float = 0.0
    last_error: str | None = None
    runs: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "failures": self.failures,
            "failing_since": self.failing_since,
            "last_error": self.last_error,
            "runs": self.runs,
        }


@dataclass
class ServiceRuntime:
    """Runs named steps in a loop with per-step backoff (see the module doc).

    Args:
        name: the service's name in logs.
        interval_s: pause between two passes over the steps.
        backoff_base_s / backoff_max_s: the first and the largest delay after a failure.
        clock: monotonic seconds (tests pass a controllable one).
        on_failure: called with (step name, exception) after each failure (metrics).
    """

    name: str
    interval_s: float = 1.0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    on_failure: Callable[[str, BaseException], None] | None = None
    _steps: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)
    _state: dict[str, StepState] = field(default_factory=dict)
    _closers: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)
    _rng: random.Random = field(default_factory=random.Random)

    def add_step(self, name: str, fn: Callable[[], Any]) -> None:
        """Run ``fn`` once per pass, in the order steps were added."""
        if name in self._state:
            raise ValueError(f"step {name!r} is already registered")
        self._steps.append((name, fn))
        self._state[name] = StepState(name)

    def on_close(self, name: str, fn: Callable[[], Any]) -> None:
        """Run ``fn`` when the loop ends (reverse order of registration)."""
        self._closers.append((name, fn))

    # -- one pass --------------------------------------------------------------------------------

    def backoff_s(self, failures: int) -> float:
        """Delay before the next try after ``failures`` consecutive failures (full jitter on
        the upper half, so that it never drops below half the nominal delay)."""
        nominal = min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, failures - 1))
        return nominal / 2 + self._rng.random() * nominal / 2

    def run_step(self, name: str, fn: Callable[[], Any]) -> bool:
        """Run one step unless it is backing off; ``True`` if it ran and succeeded."""
        state = self._state[name]
        now = self.clock()
        if state.failures and now < state.retry_at:
            return False
        try:
            fn()
        except Exception as err:
            state.failures += 1
            state.failing_since = state.failing_since or now
            state.last_error = f"{type(err).__name__}: {err}"
            delay = self.backoff_s(state.failures)
            state.retry_at = now + delay
            logger.warning(
                f"{self.name}: step {name} failed; retrying with backoff",
                exc_info=state.failures == 1,
                extra=kv(
                    step=name, failures=state.failures, retry_in_s=round(delay, 2), error=str(err)
                ),
            )
            if self.on_failure is not None:
                self.on_failure(name, err)
            return False
        state.runs += 1
        if state.failures:
            logger.info(
                f"{self.name}: step {name} recovered",
                extra=kv(
                    step=name,
                    failures=state.failures,
                    down_s=round(now - (state.failing_since or now), 2),
                ),
            )
            state.failures = 0
            state.failing_since = None
            state.last_error = None
        return True

    def run_once(self) -> dict[str, bool]:
        """One pass over every step; which ones ran and succeeded."""
        return {name: self.run_step(name, fn) for name, fn in self._steps}

    def health(self) -> dict[str, Any]:
        failing = [s.as_dict() for s in self._state.values() if s.failures]
        return {"ok": not failing, "failing": failing}

    # -- the loop --------------------------------------------------------------------------------

    def run(self, stop: Stoppable, *, max_steps: int | None = None) -> None:
        """Pass over the steps until ``stop`` is set or ``max_steps`` passes are done, then
        close. The stop flag is checked between steps (the bound of a SIGTERM)."""
        passes = 0
        try:
            while not stop.is_set():
                for name, fn in self._steps:
                    if stop.is_set():
                        break
                    self.run_step(name, fn)
                passes += 1
                if max_steps is not None and passes >= max_steps:
                    break
                stop.wait(self.interval_s)
        finally:
            if not stop.is_set():
                stop.set("exiting")
            self.close()

    def close(self) -> None:
        while self._closers:
            name, fn = self._closers.pop()
            try:
                fn()
            except Exception:
                logger.exception(f"{self.name}: closing {name} failed", extra=kv(step=name))
