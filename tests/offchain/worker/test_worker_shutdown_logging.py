"""Graceful shutdown (signals to a stop flag) and structured log lines."""

from __future__ import annotations

import io
import json
import logging
import os
import signal

from offchain.logging import StructuredFormatter, configure_logging, kv
from offchain.shutdown import StopFlag, stop_on_signals


def test_sigterm_sets_the_flag_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(StopFlag()) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5) and stop.reason == "SIGTERM"
        os.kill(os.getpid(), signal.SIGINT)  # a second signal while stopping: no exception
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_loop_finishes_its_step_before_stopping() -> None:
    done: list[int] = []
    with stop_on_signals(StopFlag()) as stop:
        step = 0
        while not stop.is_set():
            step += 1
            if step == 3:
                os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of step 3
            done.append(step)  # ...which still completes
    assert done == [1, 2, 3]


def _record(msg: str, **fields: object) -> logging.LogRecord:
    logger = logging.getLogger("offchain.test")
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, msg, (), None)
    record.__dict__.update(kv(**fields))
    return record


def test_key_value_lines_quote_what_needs_quoting() -> None:
    line = StructuredFormatter("kv").format(
        _record("event dispatched", event="Transfer", block=12, note="two words", data={"a": 1})
    )
    assert line.startswith("ts=") and "\n" not in line
    assert 'msg="event dispatched"' in line and "event=Transfer" in line and "block=12" in line
    assert 'note="two words"' in line and "level=info" in line and "logger=offchain.test" in line


def test_json_lines_parse() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(logging.INFO, fmt="json", stream=stream)
    try:
        logging.getLogger("offchain.test").info("heartbeat", extra=kv(cpu_percent=3.5))
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    (line,) = stream.getvalue().splitlines()
    parsed = json.loads(line)
    assert parsed["msg"] == "heartbeat" and parsed["cpu_percent"] == 3.5
