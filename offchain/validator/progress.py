"""What each node published in the pool's DHT during a round, kept across restarts.

hivemind's progress record holds the samples a peer accumulated in its *current* epoch and
is replaced at every step (and expires shortly after the peer stops). The validator therefore
polls it while the round runs (:class:`ProgressRecorder`) and keeps, per run, node and epoch,
the largest count it saw (:class:`ProgressLog`, SQLite). A node's published samples for the
round are the sum over its epochs (gaps the recorder missed are filled, see
:meth:`ProgressLog.published_samples`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from offchain.db import Schema, SqliteDb
from offchain.rounds.binding import NodeProgress, read_node_progress

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS progress (
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    PRIMARY KEY (run_id, node, epoch)
);
"""
SCHEMA = Schema("progress", (_SCHEMA,))


class ProgressLog:
    """Largest samples seen per (run, node, epoch), in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteDb(path, SCHEMA)
        self._lock = self._db.lock

    def close(self) -> None:
        self._db.close()

    def record(self, run_id: str, seen: Iterable[NodeProgress]) -> int:
        """Keep the largest count per epoch; returns how many observations were given."""
        rows = [(run_id, p.node.lower(), p.epoch, p.samples) for p in seen]
        with self._db.tx() as db:
            db.executemany(
                "INSERT INTO progress (run_id, node, epoch, samples) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id, node, epoch) DO UPDATE SET "
                "samples = MAX(samples, excluded.samples)",
                rows,
            )
        return len(rows)

    def published_samples(self, run_id: str, node: str) -> int | None:
        """Samples ``node`` published in ``run_id``: the sum over its epochs of the largest
        count seen; None if never seen.

        An epoch between two observed ones that the recorder missed entirely (a busy machine
        polls late) counts as the median of the node's observed epochs: the node was in the
        run then, and a peer's share of an epoch is steady. Nothing is added before the first
        or after the last observed epoch.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT epoch, samples FROM progress WHERE run_id = ? AND node = ? ORDER BY epoch",
                (run_id, node.lower()),
            ).fetchall()
        if not rows:
            return None
        seen = {int(e): int(n) for e, n in rows}
        counts = sorted(n for n in seen.values() if n > 0)
        fill = counts[(len(counts) - 1) // 2] if counts else 0
        first, last = min(seen), max(seen)
        return sum(seen.get(e, fill) for e in range(first, last + 1))


class ProgressRecorder:
    """Polls the DHT for the runs ``run_ids()`` names and records what it reads."""

    def __init__(
        self,
        dht: Any,
        log: ProgressLog,
        run_ids: Callable[[], list[str]],
        *,
        interval_s: float = 0.25,
        read: Callable[[Any, str], list[NodeProgress]] = read_node_progress,
    ) -> None:
        self.dht = dht
        self.log = log
        self.run_ids = run_ids
        self.interval_s = interval_s
        self.read = read
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> int:
        count = 0
        for run_id in self.run_ids():
            try:
                count += self.log.record(run_id, self.read(self.dht, run_id))
            except Exception as err:  # a DHT hiccup must not stop the recorder
                logger.info("progress read of %s failed: %s", run_id, err)
        return count

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="progress-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
