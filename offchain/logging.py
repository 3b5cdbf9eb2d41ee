"""Structured logging: one line per event, ``key=value`` (default) or JSON.

Every module logs through ``logger = logging.getLogger(__name__)`` and passes its fields as
``extra={"fields": {...}}`` (or with :func:`kv`), so the formatter can render them::

    logger.info("event dispatched", extra=kv(event="Transfer", block=12))
    # ts=2026-11-25T15:00:00.123Z level=info logger=offchain.watcher msg="event dispatched"
    #   event=Transfer block=12

Call :func:`configure_logging` once, at the entry point of a command or service.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["kv", "json"]

_FIELDS = "fields"
_HANDLER_NAME = "loranet-structured"


def kv(**fields: Any) -> dict[str, Any]:
    """Wrap ``fields`` for the ``extra=`` argument of a logging call."""
    return {_FIELDS: fields}


def _quote(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(ch in text for ch in ' ="\n\t'):
        return json.dumps(text)
    return text


class StructuredFormatter(logging.Formatter):
    """Render a record as one ``key=value`` line or one JSON object."""

    def __init__(self, fmt: LogFormat = "kv") -> None:
        super().__init__()
        self.fmt: LogFormat = fmt

    def _fields(self, record: logging.LogRecord) -> dict[str, Any]:
        ts = datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")
        out: dict[str, Any] = {
            "ts": ts.replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, _FIELDS, None)
        if isinstance(extra, Mapping):
            out.update(extra)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return out

    def format(self, record: logging.LogRecord) -> str:
        fields = self._fields(record)
        if self.fmt == "json":
            return json.dumps(fields, default=str)
        return " ".join(f"{key}={_quote(value)}" for key, value in fields.items())


def configure_logging(
    level: int | str = logging.INFO, fmt: LogFormat = "kv", stream: TextIO | None = None
) -> logging.Handler:
    """Install one structured handler on the root logger (idempotent) and return it."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(StructuredFormatter(fmt))
    root.addHandler(handler)
    root.setLevel(level)
    return handler
