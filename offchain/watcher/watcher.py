"""The event watcher: reads logs page by page from a persisted cursor, waits for
confirmations, detects reorgs and hands each log to a dispatcher exactly once.

One poll (:meth:`EventWatcher.poll_once`):

1. Reorg check: the stored hash of the cursor block must still be the chain's. If not, walk
   the stored hashes down to the newest one the chain still has (the common ancestor), rewind
   the cursor there and mark the logs above it ``reorged`` (see :mod:`offchain.watcher.store`).
2. Read ``(cursor, head - confirmations]`` in pages: page-end block hash first, then
   ``eth_getLogs``; a log whose block hash disagrees with the page-end hash means the chain
   moved under us, so the page is read again. A node that refuses a page as too large halves
   the page size; successful pages grow it back up to the maximum.
3. Commit each page atomically (events + cursor), then deliver queued events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from web3 import Web3

from offchain.logging import kv
from offchain.watcher.decoder import EventDecoder, RawLog, WatchedContract
from offchain.watcher.errors import ReorgTooDeepError, RpcError, WatcherError
from offchain.watcher.events import Dispatcher
from offchain.watcher.store import WatcherStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReorgInfo:
    """A detected reorg: the old cursor, the common ancestor, logs marked ``reorged``."""

    old_cursor: int
    ancestor: int
    reorged_logs: int
    #: No stored hash matched: the watcher re-anchored below its window (an alert).
    too_deep: bool = False


@dataclass
class PollResult:
    from_block: int
    to_block: int
    events: int = 0
    duplicates: int = 0
    revived: int = 0
    orphaned: int = 0
    delivered: int = 0
    pages: int = 0
    reorg: ReorgInfo | None = None
    seconds: float = 0.0
    event_names: dict[str, int] = field(default_factory=dict)


class _PageMoved(Exception):
    """The chain changed while a page was read: read it again."""


class EventWatcher:
    """Watch the logs of ``contracts`` on ``w3``'s chain.

    Args:
        w3: web3 connection (HTTP or IPC).
        contracts: contracts and ABIs to decode.
        store: persisted state.
        dispatcher: receives each new event once, and orphaned ones after reorgs.
        confirmations: blocks to wait below the head (0 on a local chain).
        start_block: first block to read when the store has no cursor yet (deployment block).
        page_size / max_page_size: blocks per ``eth_getLogs`` call, adapted between 1 and max.
        reorg_window: how many blocks below the cursor keep their hash for reorg detection.
        strict_reorgs: raise :class:`ReorgTooDeepError` on a reorg deeper than the window
            instead of re-anchoring below it with an alert (the default).
        show_progress: draw a Rich progress bar while catching up on many pages.
    """

    def __init__(
        self,
        *,
        w3: Web3,
        contracts: Sequence[WatchedContract],
        store: WatcherStore,
        dispatcher: Dispatcher,
        confirmations: int = 0,
        start_block: int = 0,
        page_size: int = 2_000,
        max_page_size: int = 10_000,
        reorg_window: int = 128,
        show_progress: bool = False,
        chain_id: int | None = None,
        strict_reorgs: bool = False,
    ) -> None:
        if confirmations < 0 or page_size < 1 or max_page_size < page_size:
            raise WatcherError("Watcher settings are inconsistent (confirmations, page sizes).")
        self.w3 = w3
        self.chain_id = int(chain_id if chain_id is not None else w3.eth.chain_id)
        self.decoder = EventDecoder(self.chain_id, contracts)
        self.store = store
        self.dispatcher = dispatcher
        self.confirmations = confirmations
        self.start_block = start_block
        self.page_size = page_size
        self.max_page_size = max_page_size
        self.reorg_window = reorg_window
        self.show_progress = show_progress
        self.strict_reorgs = strict_reorgs
        #: Reorgs deeper than the window seen by this watcher (the service exports the count).
        self.too_deep_reorgs = 0

    # -- RPC -------------------------------------------------------------------------------------

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(cast(Any, method), params)
        error = response.get("error")
        if error:
            if isinstance(error, dict):
                raise RpcError(method, error.get("code"), str(error.get("message", error)))
            raise RpcError(method, None, str(error))
        return response.get("result")

    def head(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def _hash_at(self, number: int) -> str | None:
        block = self._rpc("eth_getBlockByNumber", [hex(number), False])
        return None if block is None else str(block["hash"])

    def _get_logs(self, from_block: int, to_block: int) -> list[RawLog]:
        query = {
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "address": self.decoder.addresses,
        }
        return cast(list[RawLog], self._rpc("eth_getLogs", [query]))

    # -- reorgs ----------------------------------------------------------------------------------

    def cursor(self) -> int:
        stored = self.store.cursor(self.chain_id)
        return self.start_block - 1 if stored is None else stored

    def check_reorg(self) -> ReorgInfo | None:
        """Rewind to the common ancestor if the cursor block is no longer canonical."""
        cursor = self.store.cursor(self.chain_id)
        if cursor is None:
            return None
        stored = self.store.block_hashes(self.chain_id, cursor)
        if not stored:
            return None
        top_number, top_hash = stored[0]
        if self._hash_at(top_number) == top_hash:
            return None
        too_deep = False
        for number, block_hash in stored[1:]:
            if self._hash_at(number) == block_hash:
                ancestor = number
                break
        else:
            # Deeper than the window: the common ancestor is unknown. Stopping would stop the
            # service with it (outbox, round clock), so the watcher re-anchors just below the
            # oldest block it kept, re-reads everything above (revived logs are not delivered
            # again, vanished ones are orphaned as usual) and raises an alert: logs below the
            # window cannot be checked any more. ``strict_reorgs`` restores the old behaviour.
            if self.strict_reorgs:
                raise ReorgTooDeepError(
                    f"Chain {self.chain_id} reorganised below every stored block hash "
                    f"(oldest kept: {stored[-1][0]}); raise the reorg window or reset the cursor."
                )
            ancestor = max(self.start_block - 1, stored[-1][0] - 1)
            too_deep = True
            logger.error(
                "ALERT: reorg deeper than the reorg window; re-anchored below the window "
                "(events older than it are not re-checked; raise reorg_window)",
                extra=kv(
                    chain_id=self.chain_id,
                    old_cursor=cursor,
                    oldest_kept=stored[-1][0],
                    anchor=ancestor,
                ),
            )
        reorged = self.store.rewind(self.chain_id, ancestor)
        info = ReorgInfo(
            old_cursor=cursor, ancestor=ancestor, reorged_logs=reorged, too_deep=too_deep
        )
        if too_deep:
            self.too_deep_reorgs += 1
        logger.warning(
            "reorg detected, rewound",
            extra=kv(chain_id=self.chain_id, old_cursor=cursor, ancestor=ancestor, logs=reorged),
        )
        return info

    # -- pages -----------------------------------------------------------------------------------

    def _read_page(self, from_block: int, to_block: int) -> tuple[list[RawLog], dict[int, str]]:
        end_hash = self._hash_at(to_block)
        if end_hash is None:
            raise _PageMoved
        logs = self._get_logs(from_block, to_block)
        hashes: dict[int, str] = {to_block: end_hash}
        for log in logs:
            number = int(log["blockNumber"], 16)
            seen = hashes.setdefault(number, str(log["blockHash"]))
            if seen != log["blockHash"] or log.get("removed"):
                raise _PageMoved
        return logs, hashes

    def _page(self, from_block: int, to_block: int, result: PollResult) -> None:
        logs, hashes = self._read_page(from_block, to_block)
        if from_block > 0 and self.store.cursor(self.chain_id) is None:
            # First page: anchor the reorg check at the block below the start.
            anchor = self._hash_at(from_block - 1)
            if anchor is not None:
                hashes[from_block - 1] = anchor
        events = self.decoder.decode_all(logs)
        keep_from = to_block - self.reorg_window
        outcome = self.store.commit_page(
            self.chain_id,
            events,
            to_block=to_block,
            hashes={n: h for n, h in hashes.items() if n >= keep_from},
            keep_hashes_from=keep_from,
        )
        result.pages += 1
        result.events += outcome.new
        result.duplicates += outcome.duplicates
        result.revived += outcome.revived
        result.orphaned += outcome.orphaned
        for event in events:
            result.event_names[event.event] = result.event_names.get(event.event, 0) + 1

    def _progress(self, total: int) -> Progress:
        return Progress(
            TextColumn("[bold]catching up[/] blocks"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[events]} events"),
            TimeElapsedColumn(),
            disable=not self.show_progress or total <= self.page_size,
            transient=True,
        )

    def poll_once(self, *, deliver: bool = True) -> PollResult:
        """Process every confirmed block after the cursor, then deliver queued events."""
        started = time.perf_counter()
        reorg = self.check_reorg()
        cursor = self.cursor()
        safe_head = self.head() - self.confirmations
        result = PollResult(from_block=cursor + 1, to_block=max(cursor, safe_head), reorg=reorg)
        total = max(0, safe_head - cursor)
        with self._progress(total) as progress:
            task = progress.add_task("catch-up", total=total, events=0)
            block = cursor + 1
            while block <= safe_head:
                end = min(safe_head, block + self.page_size - 1)
                try:
                    self._page(block, end, result)
                except _PageMoved:
                    # The chain changed under the page: stop here; the next poll starts with
                    # a reorg check against a fresh head.
                    logger.info("chain moved during a page", extra=kv(block=block, to=end))
                    break
                except RpcError as err:
                    if not err.too_many_results or end == block:
                        raise
                    self.page_size = max(1, (end - block + 1) // 2)
                    logger.info("page too large, shrinking", extra=kv(page_size=self.page_size))
                    continue
                progress.update(task, completed=end - cursor, events=result.events)
                if end - block + 1 == self.page_size:
                    self.page_size = min(self.max_page_size, self.page_size * 2)
                block = end + 1
        if deliver:
            result.delivered = self.deliver_pending()
        result.seconds = time.perf_counter() - started
        if result.events or result.reorg or result.orphaned:
            logger.info(
                "poll done",
                extra=kv(
                    from_block=result.from_block,
                    to_block=result.to_block,
                    events=result.events,
                    orphaned=result.orphaned,
                    delivered=result.delivered,
                    seconds=round(result.seconds, 3),
                ),
            )
        return result

    def deliver_pending(self, batch: int = 1000) -> int:
        """Hand queued events to the dispatcher in commit order; each is marked once sent."""
        delivered = 0
        while True:
            pending = self.store.pending_deliveries(batch)
            if not pending:
                return delivered
            done: list[int] = []
            try:
                for item in pending:
                    if item.kind == "event":
                        self.dispatcher.dispatch(item.event)
                    else:
                        self.dispatcher.orphaned(item.event)
                    done.append(item.id)
            finally:
                if done:
                    self.store.mark_delivered(done)
                delivered += len(done)
