"""The validator's state: the rounds' reports (from the watcher) and its verdicts, in SQLite."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from offchain.db import Schema, SqliteDb
from offchain.validator.verdict import Report
from offchain.watcher.events import ChainEvent

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    pool_id INTEGER NOT NULL,
    round INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    event_key TEXT NOT NULL,
    report TEXT NOT NULL,
    PRIMARY KEY (pool_id, round, idx)
);
CREATE TABLE IF NOT EXISTS rounds (
    pool_id INTEGER NOT NULL,
    round INTEGER NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT,
    PRIMARY KEY (pool_id, round)
);
"""
SCHEMA = Schema("validator", (_SCHEMA,))


def report_from_event(event: ChainEvent) -> Report:
    a = event.args
    return Report(
        pool_id=int(a["poolId"]),
        round=int(a["round"]),
        index=int(a["index"]),
        node=str(a["node"]),
        provider=str(a["provider"]),
        adapter_hash=str(a["adapterHash"]),
        samples=int(a["samples"]),
        loss=int(a["loss"]),
        execution_mode=int(a["executionMode"]),
        replay_root=str(a["replayRoot"]),
        artifact_uri=str(a["artifactUri"]),
    )


class ValidatorStore:
    """Reports per round and what this validator decided; also the watcher's dispatcher."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteDb(path, SCHEMA)
        self._lock = self._db.lock

    def close(self) -> None:
        self._db.close()

    # -- the watcher's Dispatcher ------------------------------------------------------------

    def dispatch(self, event: ChainEvent) -> None:
        if event.event != "ReportSubmitted":
            return
        report = report_from_event(event)
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO reports (pool_id, round, idx, event_key, report) "
                "VALUES (?, ?, ?, ?, ?)",
                (report.pool_id, report.round, report.index, event.key.id,
                 report.model_dump_json()),
            )  # fmt: skip
        logger.info("report seen pool=%d round=%d index=%d", report.pool_id, report.round,
                    report.index)  # fmt: skip

    def orphaned(self, event: ChainEvent) -> None:
        with self._lock:
            self._db.execute("DELETE FROM reports WHERE event_key = ?", (event.key.id,))

    # -- queries -------------------------------------------------------------------------------

    def reports(self, pool_id: int, round: int) -> list[Report]:
        with self._lock:
            rows = self._db.execute(
                "SELECT report FROM reports WHERE pool_id = ? AND round = ? ORDER BY idx",
                (pool_id, round),
            ).fetchall()
        return [Report.model_validate_json(r[0]) for r in rows]

    def open_rounds(self) -> list[tuple[int, int]]:
        """Rounds with reports that this validator has not seen finalized yet."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT r.pool_id, r.round FROM reports r LEFT JOIN rounds s "
                "ON r.pool_id = s.pool_id AND r.round = s.round "
                "WHERE s.status IS NULL OR s.status != 'finalized' ORDER BY r.pool_id, r.round"
            ).fetchall()
        return [(int(p), int(r)) for p, r in rows]

    def status(self, pool_id: int, round: int) -> tuple[str | None, dict[str, Any] | None]:
        with self._lock:
            row = self._db.execute(
                "SELECT status, verdict FROM rounds WHERE pool_id = ? AND round = ?",
                (pool_id, round),
            ).fetchone()
        if row is None:
            return None, None
        return str(row[0]), (json.loads(row[1]) if row[1] else None)

    def set_status(
        self, pool_id: int, round: int, status: str, verdict: dict[str, Any] | None = None
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO rounds (pool_id, round, status, verdict) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (pool_id, round) DO UPDATE SET status = excluded.status, "
                "verdict = COALESCE(excluded.verdict, rounds.verdict)",
                (pool_id, round, status, json.dumps(verdict) if verdict is not None else None),
            )


def rounds_summary(data_dir: Path) -> list[dict[str, Any]]:
    """What ``loranet validator status`` shows, read from the data dir (no chain access)."""
    path = Path(data_dir) / "validator.db"
    if not path.is_file():
        return []
    store = ValidatorStore(path)
    try:
        with store._lock:
            rows = store._db.execute(
                "SELECT pool_id, round, status, verdict FROM rounds ORDER BY pool_id, round"
            ).fetchall()
    finally:
        store.close()
    out = []
    for pool_id, round_, status, verdict_json in rows:
        verdict = json.loads(verdict_json) if verdict_json else {"reports": []}
        reports = verdict["reports"]
        out.append(
            {
                "pool_id": int(pool_id),
                "round": int(round_),
                "status": str(status),
                "accepted": sum(1 for r in reports if r["accepted"]),
                "rejected": {
                    str(r["index"]): r["reasons"]
                    for r in reports
                    if not r["accepted"] and not r.get("inconclusive")
                },
                # could not be judged (artifact unavailable): the validator abstains
                "unavailable": {
                    str(r["index"]): r["checks"] for r in reports if r.get("inconclusive")
                },
                "next_adapter_hash": verdict.get("next_adapter_hash"),
            }
        )
    return out
