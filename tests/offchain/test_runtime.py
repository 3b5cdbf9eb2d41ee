"""The service runtime: isolated steps, bounded backoff, recovery, stop and close."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from offchain.runtime import ServiceRuntime
from offchain.shutdown import StopFlag


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Outage:
    """A step that fails while ``down`` (an RPC that does not answer)."""

    def __init__(self) -> None:
        self.down = True
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("connection refused")


def test_a_failing_step_does_not_stop_the_others() -> None:
    runtime = ServiceRuntime("t", clock=Clock())
    outage, outbox_runs = Outage(), []
    runtime.add_step("watcher", outage)
    runtime.add_step("outbox", lambda: outbox_runs.append(1))
    for _ in range(5):
        runtime.run_once()
    assert len(outbox_runs) == 5
    assert runtime.health()["ok"] is False
    assert runtime.health()["failing"][0]["step"] == "watcher"


def test_backoff_grows_to_its_bound_and_resets_on_recovery(caplog: Any) -> None:
    clock = Clock()
    runtime = ServiceRuntime("t", clock=clock, backoff_base_s=1, backoff_max_s=8)
    outage = Outage()
    runtime.add_step("watcher", outage)
    with caplog.at_level(logging.WARNING):
        for _ in range(600):  # 60 s of passes every 0.1 s
            runtime.run_once()
            clock.now += 0.1
    # 1, 2, 4, 8, 8, ... s apart (halved at worst by jitter): a handful of calls, not 600
    assert 6 <= outage.calls <= 16
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1  # only the first failure of the streak carries one
    outage.down = False
    clock.now += 8
    assert runtime.run_once() == {"watcher": True}
    assert runtime.health() == {"ok": True, "failing": []}
    assert runtime.backoff_s(1) <= 1


def test_stop_between_steps_and_close_in_reverse_order() -> None:
    stop = StopFlag()
    runtime = ServiceRuntime("t", interval_s=0.01)
    order: list[str] = []
    runtime.add_step("first", lambda: order.append("first"))
    runtime.add_step("stopper", lambda: stop.set("SIGTERM"))
    runtime.add_step("never", lambda: order.append("never"))
    runtime.on_close("a", lambda: order.append("close-a"))
    runtime.on_close("b", lambda: order.append("close-b"))
    runtime.run(stop)
    assert order == ["first", "close-b", "close-a"]
    assert stop.reason == "SIGTERM"


def test_max_steps_and_a_failing_closer() -> None:
    runtime = ServiceRuntime("t", interval_s=0)
    runs: list[int] = []
    closed: list[str] = []
    runtime.add_step("s", lambda: runs.append(1))

    def broken() -> None:
        raise OSError("disk gone")

    runtime.on_close("broken", broken)
    runtime.on_close("fine", lambda: closed.append("fine"))
    runtime.run(StopFlag(), max_steps=3)
    assert runs == [1, 1, 1] and closed == ["fine"]


def test_run_in_a_thread_stops_promptly() -> None:
    stop = StopFlag()
    runtime = ServiceRuntime("t", interval_s=30)
    runtime.add_step("idle", lambda: None)
    thread = threading.Thread(target=runtime.run, args=(stop,))
    thread.start()
    stop.set("SIGTERM")
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_duplicate_step_names_are_refused() -> None:
    runtime = ServiceRuntime("t")
    runtime.add_step("x", lambda: None)
    with pytest.raises(ValueError, match="already registered"):
        runtime.add_step("x", lambda: None)
