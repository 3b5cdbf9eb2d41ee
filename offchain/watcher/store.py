"""The watcher's state in one SQLite file: cursor, recent block hashes, dispatched logs and
the delivery queue.

Exactly-once bookkeeping: a page of logs is committed in ONE transaction that inserts the new
``dispatched`` rows (unique key: chain id, tx hash, log index), queues one delivery per new row
and advances the cursor. A crash before the commit re-reads the page; a crash after it finds
the deliveries queued. Delivery to the dispatcher happens after the commit and is marked done
per row, so a crash between delivering and marking redelivers that one event: consumers dedupe
by :attr:`ChainEvent.key` (Celery tasks do).

Reorg policy (see docs/worker.md): on a rewind to the common ancestor, dispatched rows above it
become ``reorged``. Re-reading the new branch revives a row whose key comes back (same tx, same
log index: nothing is delivered again). Rows still ``reorged`` when the cursor passes their
block on the new branch become ``orphaned`` and one ``orphan`` delivery is queued, so consumers
can compensate (the outbox drops unsent work, handlers log and count it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from offchain.db import Schema, SqliteDb
from offchain.watcher.events import ChainEvent

DeliveryKind = Literal["event", "orphan"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursor (
    chain_id INTEGER NOT NULL,
    scope TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    PRIMARY KEY (chain_id, scope)
);
CREATE TABLE IF NOT EXISTS block_hashes (
    chain_id INTEGER NOT NULL,
    scope TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    PRIMARY KEY (chain_id, scope, block_number)
);
CREATE TABLE IF NOT EXISTS dispatched (
    chain_id INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    log_index INTEGER NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('dispatched', 'reorged', 'orphaned')),
    PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX IF NOT EXISTS dispatched_block ON dispatched (chain_id, status, block_number);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chain_id INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    log_index INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('event', 'orphan')),
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (delivered, id);
"""
SCHEMA = Schema("watcher", (_SCHEMA,))


@dataclass(frozen=True)
class Delivery:
    id: int
    kind: DeliveryKind
    event: ChainEvent


@dataclass(frozen=True)
class PageOutcome:
    new: int
    duplicates: int
    revived: int
    orphaned: int


@dataclass(frozen=True)
class StoreCounts:
    dispatched: int
    reorged: int
    orphaned: int
    pending_deliveries: int


class WatcherStore:
    """SQLite-backed watcher state. One instance per process; safe across threads."""

    def __init__(self, path: Path | str, *, scope: str = "default") -> None:
        self.path = Path(path)
        self.scope = scope
        self._db = SqliteDb(self.path, SCHEMA)
        self._lock = self._db.lock

    def close(self) -> None:
        self._db.close()

    def _tx(self) -> Any:
        return self._db.tx()

    # -- cursor and block hashes -------------------------------------------------------------

    def cursor(self, chain_id: int) -> int | None:
        """The last fully processed block, or ``None`` before the first page."""
        with self._lock:
            row = self._db.execute(
                "SELECT block_number FROM cursor WHERE chain_id=? AND scope=?",
                (chain_id, self.scope),
            ).fetchone()
        return None if row is None else int(row[0])

    def block_hashes(self, chain_id: int, below_or_at: int) -> list[tuple[int, str]]:
        """Stored (number, hash) pairs at or below a height, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT block_number, block_hash FROM block_hashes "
                "WHERE chain_id=? AND scope=? AND block_number<=? ORDER BY block_number DESC",
                (chain_id, self.scope, below_or_at),
            ).fetchall()
        return [(int(n), str(h)) for n, h in rows]

    def block_hash(self, chain_id: int, number: int) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT block_hash FROM block_hashes WHERE chain_id=? AND scope=? "
                "AND block_number=?",
                (chain_id, self.scope, number),
            ).fetchone()
        return None if row is None else str(row[0])

    # -- commits -------------------------------------------------------------------------------

    def commit_page(
        self,
        chain_id: int,
        events: Sequence[ChainEvent],
        *,
        to_block: int,
        hashes: dict[int, str],
        keep_hashes_from: int,
    ) -> PageOutcome:
        """Record a page's events and move the cursor to ``to_block``, atomically."""
        new = duplicates = revived = 0
        with self._tx() as db:
            for event in events:
                key = (chain_id, event.tx_hash, event.log_index)
                cur = db.execute(
                    "INSERT INTO dispatched (chain_id, tx_hash, log_index, block_number, "
                    "block_hash, event, payload, status) VALUES (?,?,?,?,?,?,?, 'dispatched') "
                    "ON CONFLICT DO NOTHING",
                    (*key, event.block_number, event.block_hash, event.event,
                     event.model_dump_json()),
                )  # fmt: skip
                if cur.rowcount == 1:
                    new += 1
                    db.execute(
                        "INSERT INTO deliveries (chain_id, tx_hash, log_index, kind) "
                        "VALUES (?,?,?, 'event')",
                        key,
                    )
                    continue
                cur = db.execute(
                    "UPDATE dispatched SET status='dispatched', block_number=?, block_hash=?, "
                    "payload=? WHERE chain_id=? AND tx_hash=? AND log_index=? "
                    "AND status='reorged'",
                    (event.block_number, event.block_hash, event.model_dump_json(), *key),
                )
                if cur.rowcount == 1:
                    revived += 1
                else:
                    duplicates += 1
            orphans = db.execute(
                "SELECT tx_hash, log_index FROM dispatched "
                "WHERE chain_id=? AND status='reorged' AND block_number<=?",
                (chain_id, to_block),
            ).fetchall()
            for tx_hash, log_index in orphans:
                db.execute(
                    "UPDATE dispatched SET status='orphaned' "
                    "WHERE chain_id=? AND tx_hash=? AND log_index=?",
                    (chain_id, tx_hash, log_index),
                )
                db.execute(
                    "INSERT INTO deliveries (chain_id, tx_hash, log_index, kind) "
                    "VALUES (?,?,?, 'orphan')",
                    (chain_id, tx_hash, log_index),
                )
            db.executemany(
                "INSERT OR REPLACE INTO block_hashes (chain_id, scope, block_number, block_hash) "
                "VALUES (?,?,?,?)",
                [(chain_id, self.scope, n, h) for n, h in hashes.items()],
            )
            # keep the newest stored hash even when it is older than the window
            db.execute(
                "DELETE FROM block_hashes WHERE chain_id=? AND scope=? AND block_number<? "
                "AND block_number < (SELECT MAX(block_number) FROM block_hashes "
                "WHERE chain_id=? AND scope=?)",
                (chain_id, self.scope, keep_hashes_from, chain_id, self.scope),
            )
            self._set_cursor(db, chain_id, to_block)
        return PageOutcome(new, duplicates, revived, len(orphans))

    def rewind(self, chain_id: int, ancestor: int) -> int:
        """Move the cursor back to ``ancestor``; mark logs above it ``reorged``. Returns count."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE dispatched SET status='reorged' "
                "WHERE chain_id=? AND status='dispatched' AND block_number>?",
                (chain_id, ancestor),
            )
            db.execute(
                "DELETE FROM block_hashes WHERE chain_id=? AND scope=? AND block_number>?",
                (chain_id, self.scope, ancestor),
            )
            self._set_cursor(db, chain_id, ancestor)
            return int(cur.rowcount)

    def _set_cursor(self, db: Any, chain_id: int, block: int) -> None:
        db.execute(
            "INSERT INTO cursor (chain_id, scope, block_number) VALUES (?,?,?) "
            "ON CONFLICT (chain_id, scope) DO UPDATE SET block_number=excluded.block_number",
            (chain_id, self.scope, block),
        )

    # -- deliveries ------------------------------------------------------------------------------

    def pending_deliveries(self, limit: int = 1000) -> list[Delivery]:
        """Queued deliveries in commit order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.id, d.kind, x.payload FROM deliveries d JOIN dispatched x "
                "ON x.chain_id=d.chain_id AND x.tx_hash=d.tx_hash AND x.log_index=d.log_index "
                "WHERE d.delivered=0 ORDER BY d.id LIMIT ?",
                (limit,),
            ).fetchall()
        return [Delivery(int(i), k, ChainEvent.model_validate_json(p)) for i, k, p in rows]

    def mark_delivered(self, delivery_ids: Sequence[int]) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE deliveries SET delivered=1 WHERE id=?", [(i,) for i in delivery_ids]
            )

    # -- inspection --------------------------------------------------------------------------------

    def counts(self, chain_id: int) -> StoreCounts:
        with self._lock:
            rows = dict(
                self._db.execute(
                    "SELECT status, COUNT(*) FROM dispatched WHERE chain_id=? GROUP BY status",
                    (chain_id,),
                ).fetchall()
            )
            (pending,) = self._db.execute(
                "SELECT COUNT(*) FROM deliveries WHERE delivered=0"
            ).fetchone()
        return StoreCounts(
            dispatched=int(rows.get("dispatched", 0)),
            reorged=int(rows.get("reorged", 0)),
            orphaned=int(rows.get("orphaned", 0)),
            pending_deliveries=int(pending),
        )

    def events(self, chain_id: int, status: str = "dispatched") -> list[ChainEvent]:
        """Stored events with a status, in chain order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload FROM dispatched WHERE chain_id=? AND status=? "
                "ORDER BY block_number, log_index",
                (chain_id, status),
            ).fetchall()
        return [ChainEvent.model_validate_json(p) for (p,) in rows]
