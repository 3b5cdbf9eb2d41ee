"""The round clock: which round of which pool this node should be working on now.

Rounds are a clock on chain (``ComputePool``): round ``r`` spans
``[start + r*length, start + (r+1)*length)`` and its reports are accepted during
``[end, end + submissionWindow)``. The node is in at most one pool (``membershipOf``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from web3.contract import Contract
from web3.exceptions import ContractLogicError

from offchain.logging import kv
from offchain.worker.standing import Standing

logger = logging.getLogger(__name__)

ACTIVE = 2  # IComputePool.Status.Active


@dataclass(frozen=True)
class RoundSlot:
    """One round of one pool: its window on the chain's clock."""

    pool_id: int
    round: int
    start: int
    end: int
    submission_end: int


class RoundClock:
    """Reads the node's pool and current round from ``ComputePool`` (three view calls)."""

    def __init__(self, pools: Contract, node: str) -> None:
        self.pools = pools
        self.node = node

    def current(self) -> RoundSlot | None:
        """The round being trained now, or ``None`` (no pool, pool not active)."""
        membership = self.pools.functions.membershipOf(self.node).call()
        pool_id = int(membership[0])
        if pool_id == 0:
            return None
        pool = self.pools.functions.poolOf(pool_id).call()
        if int(pool[5]) != ACTIVE:
            return None
        try:
            round_ = int(self.pools.functions.currentRound(pool_id).call())
            start, end, submission_end = self.pools.functions.roundWindow(pool_id, round_).call()
        except ContractLogicError:  # pool not started yet, or ended
            return None
        return RoundSlot(pool_id, round_, int(start), int(end), int(submission_end))


class RoundScheduler:
    """Queues the round work of the node's current round once, unless its standing stops it.

    Called by the service loop every step (rounds follow the chain's clock) and by the event
    handlers at once (``PoolStarted``, ``NodeJoined``, a stop lifted). Thread-safe; the task
    itself also dedupes by the round's key, across restarts.
    """

    def __init__(
        self,
        clock: RoundClock,
        standing: Standing | None,
        dispatch: Callable[[RoundSlot], str],
    ) -> None:
        self.clock = clock
        self.standing = standing
        self.dispatch = dispatch
        self._lock = threading.Lock()
        self._scheduled: set[tuple[int, int]] = set()
        self._halted: dict[int, list[str]] = {}

    def schedule(self) -> str | None:
        """The task key queued now, or ``None`` (nothing new, or the node may not work)."""
        with self._lock:
            slot = self.clock.current()
            if slot is None or (slot.pool_id, slot.round) in self._scheduled:
                return None
            halts = self.standing.halts(slot.pool_id) if self.standing is not None else []
            if halts:
                if self._halted.get(slot.pool_id) != halts:
                    logger.warning(
                        "round work not scheduled: this node may not work for the pool",
                        extra=kv(pool=slot.pool_id, round=slot.round, halts=",".join(halts)),
                    )
                self._halted[slot.pool_id] = halts
                return None
            self._halted.pop(slot.pool_id, None)
            key = self.dispatch(slot)
            self._scheduled.add((slot.pool_id, slot.round))
        logger.info("round work scheduled", extra=kv(key=key, end=slot.end))
        return key
