"""The one SQLite base under every store of loranet (outbox, watcher, task keys, validator).

Each store owns one file and opens it through :class:`SqliteDb`, which fixes what every store
needs the same way:

- **Connection**: one connection per store and process, shared by its threads under one
  re-entrant lock (``check_same_thread=False``); autocommit mode (``isolation_level=None``) so
  that transactions are explicit.
- **Pragmas**: ``journal_mode=WAL`` (readers never block the writer, a crash leaves the last
  committed transaction), ``synchronous=NORMAL`` by default (a power loss may drop the newest
  commits but never corrupts; stores whose commits must survive a power loss pass ``FULL``),
  ``busy_timeout`` so that two processes of one data dir wait for each other instead of failing,
  ``foreign_keys=ON``.
- **Transactions**: :meth:`SqliteDb.tx` is ``BEGIN IMMEDIATE`` … ``COMMIT`` (the write lock is
  taken up front, so a transaction never fails half way for lock upgrade reasons), rolled back
  on any exception. Everything a store changes for one decision happens in one ``tx``.
- **Schema version**: ``PRAGMA user_version`` counts the migrations applied. A store declares
  its :class:`Schema` as an ordered list of migrations; opening a file applies the missing ones
  in one transaction. A file written by a newer loranet (a version the code does not know) is
  refused with :class:`SchemaTooNewError` instead of being used or changed.
- **Disk faults**: SQLite errors that mean the disk (full, read-only, I/O error, the file cannot
  be opened) become :class:`StorageError`, one sentence naming the file. They are transient
  from the service's point of view: the failed transaction left nothing half written, so the
  caller retries the whole step with backoff once the operator has fixed the disk.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from offchain.errors import LoranetError
from offchain.logging import kv

logger = logging.getLogger(__name__)

Synchronous = Literal["OFF", "NORMAL", "FULL"]

#: Fragments of SQLite messages that mean the disk, not the query, is at fault.
_DISK_FAULTS = (
    "database or disk is full",
    "readonly database",
    "disk i/o error",
    "unable to open database file",
    "database disk image is malformed",
)


class StorageError(LoranetError):
    """A store's file cannot be read or written (disk full, read-only, I/O error)."""


class SchemaTooNewError(StorageError):
    """The file was written by a newer loranet than this one."""


def is_disk_fault(err: BaseException) -> bool:
    """Whether ``err`` is an SQLite error caused by the disk rather than by the query."""
    if not isinstance(err, sqlite3.OperationalError | sqlite3.DatabaseError):
        return False
    message = str(err).lower()
    return any(fragment in message for fragment in _DISK_FAULTS)


@dataclass(frozen=True)
class Schema:
    """A store's schema as ordered migrations: ``migrations[i]`` takes version ``i`` to ``i+1``.

    The first migration uses ``CREATE … IF NOT EXISTS`` so that files created before schema
    versions existed (``user_version`` 0 with the tables present) upgrade in place.
    """

    name: str
    migrations: tuple[str, ...]

    @property
    def version(self) -> int:
        return len(self.migrations)


class SqliteDb:
    """One store's SQLite file: connection, pragmas, transactions, schema version.

    Args:
        path: the file (its folder is created).
        schema: the store's migrations.
        synchronous: ``NORMAL`` (default) or ``FULL`` for commits that must survive power loss.
        busy_timeout_ms: how long a writer waits for another process's transaction.
    """

    def __init__(
        self,
        path: Path | str,
        schema: Schema,
        *,
        synchronous: Synchronous = "NORMAL",
        busy_timeout_ms: int = 10_000,
    ) -> None:
        self.path = Path(path)
        self.schema = schema
        self.lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (OSError, sqlite3.Error) as err:
            raise self._storage_error(err, "open") from err

    # -- schema ------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        with self.lock:
            (value,) = self._db.execute("PRAGMA user_version").fetchone()
        return int(value)

    def _migrate(self) -> None:
        current = self.version
        target = self.schema.version
        if current > target:
            raise SchemaTooNewError(
                f"{self.path} has {self.schema.name} schema version {current}, newer than this "
                f"loranet knows ({target}); upgrade loranet or use another data dir."
            )
        if current == target:
            return
        with self.tx() as db:
            for version in range(current, target):
                db.executescript_in_tx(self.schema.migrations[version])
            db.execute(f"PRAGMA user_version={target}")
        logger.info(
            "store schema migrated",
            extra=kv(store=self.schema.name, path=str(self.path), version=current, to=target),
        )

    # -- access --------------------------------------------------------------------------------

    @contextmanager
    def tx(self) -> Iterator[_Tx]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on any exception."""
        with self.lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise self._storage_error(err, "begin a transaction on") from err
            try:
                yield _Tx(self._db)
            except BaseException as err:
                # the failed statement may have rolled the transaction back already
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(err, sqlite3.Error) and is_disk_fault(err):
                    raise self._storage_error(err, "write") from err
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise self._storage_error(err, "commit to") from err

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """One statement outside an explicit transaction (reads, single-row updates)."""
        with self.lock:
            try:
                return self._db.execute(sql, params)
            except sqlite3.Error as err:
                if is_disk_fault(err):
                    raise self._storage_error(err, "use") from err
                raise

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.lock:
            return self.execute(sql, params).fetchone()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.lock:
            return self.execute(sql, params).fetchall()

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def _storage_error(self, err: BaseException, action: str) -> StorageError:
        if isinstance(err, StorageError):
            return err
        return StorageError(f"cannot {action} {self.path}: {err} (is the disk full or read-only?)")


class _Tx:
    """The connection inside :meth:`SqliteDb.tx` (``execute``/``executemany`` only)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> sqlite3.Cursor:
        return self._db.executemany(sql, rows)

    def executescript_in_tx(self, script: str) -> None:
        """Run ``;``-separated DDL inside the open transaction (``executescript`` would commit)."""
        for statement in _statements(script):
            self._db.execute(statement)


def _statements(script: str) -> list[str]:
    out: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        out.append(buffer.strip())
    return out
