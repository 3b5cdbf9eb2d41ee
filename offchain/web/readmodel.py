"""The dashboard's read model: every indexed event of the protocol, one row per log.

Rows are facts, never mutated: ``(tx hash, log index)`` is the primary key, so applying a
batch twice changes nothing (the watcher redelivers after a crash between applying and
marking delivered). An orphaned log (its block left the canonical chain) is deleted, and
every page is computed from the rows that remain (:mod:`offchain.web.explorer`): no derived
state can outlive the event it came from. The columns the pages filter on (event, pool,
round, provider, node) are lifted out of the JSON arguments and indexed.

One schema for SQLite (default, a file under the data dir) and PostgreSQL (a public
explorer): SQLAlchemy Core, arguments as JSON text (uint256 values do not fit SQL integers).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from offchain.logging import kv
from offchain.watcher.events import ChainEvent

logger = logging.getLogger(__name__)

metadata = MetaData()

events_table = Table(
    "explorer_events",
    metadata,
    Column("tx_hash", String(66), primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("block", BigInteger, nullable=False),
    Column("contract", String(64), nullable=False),
    Column("event", String(64), nullable=False),
    Column("pool_id", BigInteger),
    Column("round", BigInteger),
    Column("provider", String(42)),
    Column("node", String(42)),
    Column("args", Text, nullable=False),
    Index("explorer_events_pool", "event", "pool_id", "round"),
    Index("explorer_events_provider", "provider", "event"),
    Index("explorer_events_node", "node", "event"),
    Index("explorer_events_block", "block", "log_index"),
)

meta_table = Table(
    "explorer_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


@dataclass(frozen=True)
class Row:
    """One indexed event as the explorer reads it."""

    tx_hash: str
    log_index: int
    block: int
    contract: str
    event: str
    args: dict[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.args.get(name, default)


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _provider_of(args: dict[str, Any]) -> str | None:
    for name in ("provider",):
        if isinstance(args.get(name), str):
            return str(args[name])
    return None


def row_values(ev: ChainEvent) -> dict[str, Any]:
    """The columns of one event's row."""
    args = ev.args
    node = args.get("node")
    return {
        "tx_hash": ev.tx_hash,
        "log_index": ev.log_index,
        "block": ev.block_number,
        "contract": ev.contract,
        "event": ev.event,
        "pool_id": _int_or_none(args.get("poolId")),
        "round": _int_or_none(args.get("round")),
        "provider": _provider_of(args),
        "node": node if isinstance(node, str) else None,
        "args": json.dumps(args, separators=(",", ":")),
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class ReadModel:
    """The indexed events in one database (SQLite or PostgreSQL, by URL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self.version = 0  # bumped by every write: the explorer's cache key

    def close(self) -> None:
        self.engine.dispose()

    # -- writes ------------------------------------------------------------------------------

    def _insert(self) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(events_table).on_conflict_do_nothing()
        if self.engine.dialect.name == "sqlite":
            return sqlite.insert(events_table).on_conflict_do_nothing()
        return insert(events_table)  # pragma: no cover - other dialects are not supported

    def apply(self, added: Sequence[ChainEvent], orphaned: Sequence[ChainEvent] = ()) -> None:
        """Insert new events and delete orphaned ones in one transaction (idempotent)."""
        with self.engine.begin() as conn:
            if added:
                conn.execute(self._insert(), [row_values(ev) for ev in added])
            for ev in orphaned:
                conn.execute(
                    delete(events_table).where(
                        events_table.c.tx_hash == ev.tx_hash,
                        events_table.c.log_index == ev.log_index,
                    )
                )
        self.version += 1
        if orphaned:
            logger.info("orphaned events removed", extra=kv(count=len(orphaned)))

    def set_meta(self, values: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            for key, value in values.items():
                conn.execute(delete(meta_table).where(meta_table.c.key == key))
                conn.execute(insert(meta_table).values(key=key, value=json.dumps(value)))
        self.version += 1

    # -- reads -------------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(meta_table.c.key, meta_table.c.value)).all()
        return {str(k): json.loads(v) for k, v in rows}

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events_table)).scalar_one())

    def rows(
        self,
        events: Iterable[str] | None = None,
        *,
        pool_id: int | None = None,
        round: int | None = None,
        provider: str | None = None,
        node: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """Events matching every given filter, in chain order (or newest first)."""
        t = events_table
        query = select(t.c.tx_hash, t.c.log_index, t.c.block, t.c.contract, t.c.event, t.c.args)
        if events is not None:
            query = query.where(t.c.event.in_(list(events)))
        if pool_id is not None:
            query = query.where(t.c.pool_id == pool_id)
        if round is not None:
            query = query.where(t.c.round == round)
        if provider is not None:
            query = query.where(t.c.provider == provider)
        if node is not None:
            query = query.where(t.c.node == node)
        if newest_first:
            query = query.order_by(t.c.block.desc(), t.c.log_index.desc())
        else:
            query = query.order_by(t.c.block, t.c.log_index)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        with self.engine.connect() as conn:
            result = conn.execute(query).all()
        return [
            Row(str(h), int(i), int(b), str(c), str(e), json.loads(a))
            for h, i, b, c, e, a in result
        ]

    def count_rows(self, events: Iterable[str] | None = None) -> int:
        t = events_table
        query = select(func.count()).select_from(t)
        if events is not None:
            query = query.where(t.c.event.in_(list(events)))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
