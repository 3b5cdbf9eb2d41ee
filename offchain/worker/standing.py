"""The node's standing as the chain's events last stated it: may it work for a pool?

One SQLite table of flags, each a fact an event set or cleared: node-wide (``unvalidated``,
``blacklisted``, ``provider_blacklisted``) or per pool (``ejected``, ``left``,
``pool_blacklisted``, ``ended``). The node may work for a pool when no flag of the node and
none of that pool is set.

Each flag remembers the chain position (block, log index) of the event that set it, and a
change applies only when it comes from a later position: tasks may be redelivered or run out
of order after a crash, and the flags still end as the latest event says (idempotent, order
independent). State is on disk, so a restarted worker knows it was ejected.
"""

from __future__ import annotations

import time
from pathlib import Path

from offchain.db import Schema, SqliteDb

NODE = "node"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS flags (
    scope TEXT NOT NULL,
    flag TEXT NOT NULL,
    value INTEGER NOT NULL CHECK (value IN (0, 1)),
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (scope, flag)
);
"""
SCHEMA = Schema("standing", (_SCHEMA,))


def pool_scope(pool_id: int) -> str:
    return f"pool:{int(pool_id)}"


class Standing:
    """Flags of one node in ``<data dir>/standing.db``."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteDb(path, SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record(self, scope: str, flag: str, value: bool, *, block: int, log_index: int) -> bool:
        """Set ``flag`` of ``scope`` to ``value`` unless a later event already decided it.

        Returns whether the stored value changed."""
        with self._db.tx() as db:
            row = db.execute(
                "SELECT value, block, log_index FROM flags WHERE scope=? AND flag=?",
                (scope, flag),
            ).fetchone()
            if row is not None and (int(row[1]), int(row[2])) >= (block, log_index):
                return False
            db.execute(
                "INSERT INTO flags (scope, flag, value, block, log_index, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, flag) DO UPDATE SET "
                "value=excluded.value, block=excluded.block, log_index=excluded.log_index, "
                "updated_at=excluded.updated_at",
                (scope, flag, int(value), block, log_index, time.time()),
            )
        return row is None or bool(row[0]) != value

    def halts(self, pool_id: int) -> list[str]:
        """Why the node may not work for ``pool_id`` (empty: it may)."""
        rows = self._db.fetchall(
            "SELECT scope, flag FROM flags WHERE value=1 AND scope IN (?, ?) ORDER BY scope, flag",
            (NODE, pool_scope(pool_id)),
        )
        return [f"{flag}" if scope == NODE else f"pool {pool_id} {flag}" for scope, flag in rows]

    def flags(self) -> dict[str, list[str]]:
        """Every set flag by scope (for ``loranet worker status``)."""
        rows = self._db.fetchall("SELECT scope, flag FROM flags WHERE value=1 ORDER BY scope, flag")
        out: dict[str, list[str]] = {}
        for scope, flag in rows:
            out.setdefault(str(scope), []).append(str(flag))
        return out
