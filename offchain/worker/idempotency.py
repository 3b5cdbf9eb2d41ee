"""Task dedupe by dispatch key: a task whose key is already ``done`` does nothing.

A task claims its key (``running``) before the work and completes it (``done``) after. A worker
killed in between leaves ``running``: the redelivered task runs the handler again, which is
why handlers must be idempotent themselves (transactions go through the outbox, whose key
makes a second submission a no-op).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.db import Schema, SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS processed (
    key TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done')),
    attempts INTEGER NOT NULL DEFAULT 1,
    duplicates INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    updated_at REAL NOT NULL
);
"""
SCHEMA = Schema("tasks", (_SCHEMA,))


@dataclass(frozen=True)
class ProcessedRow:
    key: str
    task: str
    status: str
    attempts: int
    duplicates: int
    result: Any


class ProcessedStore:
    """SQLite table of task keys, shared by the worker processes of one data dir."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db = SqliteDb(self.path, SCHEMA)
        self._lock = self._db.lock

    def close(self) -> None:
        self._db.close()

    def claim(self, key: str, task: str) -> bool:
        """Whether the work for ``key`` must run now (``False``: it is already done)."""
        with self._db.tx() as db:
            row = db.execute("SELECT status FROM processed WHERE key=?", (key,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO processed (key, task, status, updated_at) "
                    "VALUES (?,?, 'running', ?)",
                    (key, task, time.time()),
                )
                return True
            if row[0] == "done":
                db.execute("UPDATE processed SET duplicates=duplicates+1 WHERE key=?", (key,))
                return False
            db.execute(
                "UPDATE processed SET attempts=attempts+1, updated_at=? WHERE key=?",
                (time.time(), key),
            )
            return True

    def is_done(self, key: str) -> bool:
        """Whether ``key``'s work completed (a redelivered task would do nothing)."""
        row = self._db.fetchone("SELECT status FROM processed WHERE key=?", (key,))
        return row is not None and row[0] == "done"

    def complete(self, key: str, result: Any = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE processed SET status='done', result=?, updated_at=? WHERE key=?",
                (json.dumps(result), time.time(), key),
            )

    def get(self, key: str) -> ProcessedRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT key, task, status, attempts, duplicates, result FROM processed WHERE key=?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return ProcessedRow(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "null"))

    def count(self, status: str = "done") -> int:
        with self._lock:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM processed WHERE status=?", (status,)
            ).fetchone()
        return int(n)

    def rows(self) -> list[ProcessedRow]:
        with self._lock:
            keys = [k for (k,) in self._db.execute("SELECT key FROM processed ORDER BY rowid")]
        return [row for key in keys if (row := self.get(key)) is not None]
