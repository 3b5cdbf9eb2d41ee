"""The one SQLite base: schema versions, transactions, disk faults as readable errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from offchain.db import Schema, SchemaTooNewError, SqliteDb, StorageError, is_disk_fault

V1 = "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
V2 = "ALTER TABLE items ADD COLUMN size INTEGER NOT NULL DEFAULT 0;"


def test_migrations_apply_once_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    db = SqliteDb(path, Schema("items", (V1,)))
    with db.tx() as tx:
        tx.execute("INSERT INTO items (name) VALUES ('a')")
    assert db.version == 1
    db.close()

    upgraded = SqliteDb(path, Schema("items", (V1, V2)))  # a newer loranet opens the file
    assert upgraded.version == 2
    assert upgraded.fetchall("SELECT name, size FROM items") == [("a", 0)]
    upgraded.close()
    again = SqliteDb(path, Schema("items", (V1, V2)))  # nothing left to apply
    assert again.version == 2
    again.close()


def test_a_file_from_before_schema_versions_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.executescript(V1 + "INSERT INTO items (name) VALUES ('kept');")
    db = SqliteDb(path, Schema("items", (V1, V2)))
    assert db.fetchall("SELECT name FROM items") == [("kept",)]
    db.close()


def test_a_newer_schema_is_refused_not_used(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SqliteDb(path, Schema("items", (V1, V2))).close()
    with pytest.raises(SchemaTooNewError, match="newer than this loranet knows"):
        SqliteDb(path, Schema("items", (V1,)))


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    db = SqliteDb(tmp_path / "t.db", Schema("items", (V1,)))
    with pytest.raises(RuntimeError), db.tx() as tx:
        tx.execute("INSERT INTO items (name) VALUES ('half')")
        raise RuntimeError("crash in the middle")
    assert db.fetchall("SELECT * FROM items") == []
    db.close()


def test_pragmas(tmp_path: Path) -> None:
    db = SqliteDb(tmp_path / "p.db", Schema("items", (V1,)), synchronous="FULL")
    assert db.fetchone("PRAGMA journal_mode") == ("wal",)
    assert db.fetchone("PRAGMA synchronous") == (2,)
    assert db.fetchone("PRAGMA foreign_keys") == (1,)
    db.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a tiny tmpfs")
def test_a_full_disk_is_a_storage_error_and_recovers(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    try:
        db = SqliteDb(mount / "f.db", Schema("items", (V1,)))
        filler = mount / "filler"
        with pytest.raises(StorageError, match="disk full or read-only"):
            filler.write_bytes(b"\0" * 200_000)
            with db.tx() as tx:
                tx.executemany(
                    "INSERT INTO items (name) VALUES (?)", [("x" * 1000,) for _ in range(200)]
                )
        filler.unlink()  # the operator frees space: the same store works again
        with db.tx() as tx:
            tx.execute("INSERT INTO items (name) VALUES ('after')")
        assert db.fetchall("SELECT name FROM items") == [("after",)]
        db.close()
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_disk_fault_classification() -> None:
    assert is_disk_fault(sqlite3.OperationalError("database or disk is full"))
    assert is_disk_fault(sqlite3.OperationalError("attempt to write a readonly database"))
    assert not is_disk_fault(sqlite3.OperationalError("no such table: x"))
    assert not is_disk_fault(ValueError("database or disk is full"))


def test_store_opened_by_another_process_concurrently(tmp_path: Path) -> None:
    """Two processes on one file wait for each other (busy timeout), they do not fail."""
    path = tmp_path / "shared.db"
    SqliteDb(path, Schema("items", (V1,))).close()
    code = (
        "import sys; from offchain.db import SqliteDb, Schema\n"
        f"db = SqliteDb({str(path)!r}, Schema('items', ({V1!r},)))\n"
        "for i in range(200):\n"
        "    with db.tx() as tx: tx.execute(\"INSERT INTO items (name) VALUES ('p')\")\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    db = SqliteDb(path, Schema("items", (V1,)))
    assert db.fetchone("SELECT COUNT(*) FROM items") == (600,)
    db.close()
