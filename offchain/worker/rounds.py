"""The round clock: which round of which pool this node should be working on now.

Rounds are a clock on chain (``ComputePool``): round ``r`` spans
``[start + r*length, start + (r+1)*length)`` and its reports are accepted during
``[end, end + submissionWindow)``. The node is in at most one pool (``membershipOf``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from web3.contract import Contract
from web3.exceptions import ContractLogicError

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
