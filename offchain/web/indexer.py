"""The dashboard's indexer: the reorg-safe watcher feeding the read model.

One step: ``EventWatcher.poll_once(deliver=False)`` commits new logs into the watcher's own
SQLite store (``<data_dir>/web/watcher.db``, separate from the worker's: the ``dispatched``
table is keyed per log, not per consumer); then the queued deliveries are applied to the
read model in batches, each batch in ONE read-model transaction, and only then marked
delivered. A crash between the two re-applies that batch, which changes nothing (rows are
keyed by tx hash and log index). Orphan deliveries delete their row.

The step runs in a background thread; each step that moved the cursor bumps ``version``,
which the server-sent-event stream watches. RPC failures back off (1 s doubling to 30 s)
and never stop the server.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from offchain.logging import kv
from offchain.watcher import ChainEvent, EventWatcher, WatchedContract, WatcherStore
from offchain.web.readmodel import ReadModel

logger = logging.getLogger(__name__)

BATCH = 2_000
MAX_BACKOFF_S = 30.0


class _NoDispatch:
    """The watcher never delivers by itself here (``deliver=False``): the indexer does."""

    def dispatch(self, event: ChainEvent) -> None:  # pragma: no cover - never called
        raise AssertionError("the indexer applies deliveries itself")

    def orphaned(self, event: ChainEvent) -> None:  # pragma: no cover - never called
        raise AssertionError("the indexer applies deliveries itself")


@dataclass
class IndexerStatus:
    """What the dashboard shows about the indexer."""

    chain_id: int
    cursor: int
    head: int
    events: int
    version: int
    error: str | None
    started_at: float


class Indexer:
    """Follow ``contracts`` on the chain of ``w3`` into ``model``."""

    def __init__(
        self,
        *,
        w3: object,
        chain_id: int,
        contracts: list[WatchedContract],
        model: ReadModel,
        watcher_db: Path,
        start_block: int,
        confirmations: int = 0,
        page_size: int = 2_000,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.model = model
        self.chain_id = chain_id
        self.poll_interval_s = poll_interval_s
        self.store = WatcherStore(watcher_db, scope="web")
        self.watcher = EventWatcher(
            w3=w3,  # type: ignore[arg-type]
            contracts=contracts,
            store=self.store,
            dispatcher=_NoDispatch(),
            confirmations=confirmations,
            start_block=start_block,
            page_size=page_size,
            max_page_size=max(10_000, page_size),
            chain_id=chain_id,
        )
        self.version = 0
        self.head = 0
        self.error: str | None = None
        self.started_at = time.time()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- one step ----------------------------------------------------------------------------

    def apply_pending(self) -> int:
        """Apply queued deliveries to the read model, batch by batch. Returns how many."""
        applied = 0
        while True:
            pending = self.store.pending_deliveries(BATCH)
            if not pending:
                return applied
            added = [d.event for d in pending if d.kind == "event"]
            orphaned = [d.event for d in pending if d.kind == "orphan"]
            self.model.apply(added, orphaned)
            self.store.mark_delivered([d.id for d in pending])
            applied += len(pending)

    def step(self) -> int:
        """Poll the chain once and apply what arrived. Returns the number of deliveries."""
        with self._lock:
            before = self.watcher.cursor()
            result = self.watcher.poll_once(deliver=False)
            applied = self.apply_pending()
            cursor = self.watcher.cursor()
            self.head = max(self.head, result.to_block)
            if cursor != before or applied or result.reorg:
                self.model.set_meta({"chain_id": self.chain_id, "cursor": cursor})
                self.version += 1
            self.error = None
            return applied

    def catch_up(self) -> int:
        """Step until the cursor reaches the head seen at the start. Returns deliveries."""
        target = self.watcher.head() - self.watcher.confirmations
        total = self.step()
        while self.watcher.cursor() < target:
            total += self.step()
        return total

    def status(self) -> IndexerStatus:
        return IndexerStatus(
            chain_id=self.chain_id,
            cursor=self.watcher.cursor(),
            head=self.head,
            events=self.model.count(),
            version=self.version,
            error=self.error,
            started_at=self.started_at,
        )

    # -- background thread --------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                self.step()
                backoff = 1.0
                wait = self.poll_interval_s
            except Exception as err:  # keep serving: the next step retries
                self.error = f"{type(err).__name__}: {err}"
                logger.warning("indexer step failed", extra=kv(error=self.error, retry_s=backoff))
                wait = backoff
                backoff = min(MAX_BACKOFF_S, backoff * 2)
            self._stop.wait(wait)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="web-indexer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.store.close()
