"""The embedded SQLite broker is ready before the first publish, even when several
processes open a new broker.db at the same moment."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from offchain.worker.celery_app import create_app
from offchain.worker.settings import WorkerSettings

QUEUE = "loranet-test-embedded"


def _open_app(data_dir: str) -> None:
    create_app(WorkerSettings(data_dir=Path(data_dir), queue=QUEUE)).close()


def _queues(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM kombu_queue")]


def test_create_app_prepares_tables_and_queue(tmp_path: Path) -> None:
    app = create_app(WorkerSettings(data_dir=tmp_path, queue=QUEUE))
    app.close()
    assert _queues(tmp_path / "broker.db") == [QUEUE]


def test_processes_opening_a_new_broker_together_all_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open_app, args=(str(tmp_path),)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0, 0, 0, 0]
    assert _queues(tmp_path / "broker.db") == [QUEUE]
