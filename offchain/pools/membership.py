"""A round's members from the chain: the node's shard index and the node count.

Rule (the same on every machine, from chain data only): the members of round ``r`` of a pool
are the pool's members after every membership event (``NodeJoined``, ``NodeLeft``,
``NodeEjected`` of that pool) that

* comes before the pool's ``PoolStarted`` event in chain order, or
* sits in a block whose timestamp is before round ``r``'s start (``start + r * roundLength``),

sorted by node address (as a 160-bit number). A node's shard index is its position in that
list and the node count is its length. Why this cut: block timestamps never decrease, so once
the chain's head has reached round ``r``'s start no later block can change the list; and the
``PoolStarted`` clause keeps nodes that joined in earlier blocks of the very second the pool
started (anvil mines many blocks per second). A node that joins after a round started sits
that round out and trains from the next one (the ledger would accept its report, but its
shard would clash with the others').

The ledger enforces none of this (it accepts any member's report); validators recompute the
list to check that a report's replay bundle names the right shard.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from offchain.logging import kv
from offchain.pools.errors import NotARoundMemberError, PoolDiscoveryError

logger = logging.getLogger(__name__)

POOL_CREATED_STATUS = (1, 2, 3)  # pending, active, completed: the pool exists


@dataclass(frozen=True)
class RoundMembership:
    """The members of one round of one pool, sorted by address."""

    pool_id: int
    round: int
    round_start: int
    members: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.members)

    def index_of(self, node: str) -> int:
        """The node's shard index; ``NotARoundMemberError`` if it is not a member."""
        wanted = Web3.to_checksum_address(node)
        try:
            return self.members.index(wanted)
        except ValueError:
            raise NotARoundMemberError(
                f"node {wanted} is not a member of pool {self.pool_id} in round {self.round} "
                "(it joined after the round started, or left): it trains from the next round."
            ) from None


def sort_members(addresses: Sequence[str]) -> tuple[str, ...]:
    """Checksummed addresses sorted by their numeric value (= lower-case hex order)."""
    unique = {Web3.to_checksum_address(a) for a in addresses}
    return tuple(sorted(unique, key=lambda a: int(a, 16)))


def apply_events(events: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """Members after ``(kind, node)`` events in chain order (kind: joined, left, ejected)."""
    members: set[str] = set()
    for kind, node in events:
        address = Web3.to_checksum_address(node)
        if kind == "joined":
            members.add(address)
        else:
            members.discard(address)
    return sort_members(list(members))


class MembershipReader:
    """Reads rounds' members of pools from one ``ComputePool`` through its events.

    ``from_block`` is the deployment's first block. Block timestamps are cached per block.
    """

    def __init__(self, pools: Any, *, from_block: int = 0) -> None:
        self.pools = pools
        self.from_block = from_block
        self._times: dict[int, int] = {}

    @property
    def w3(self) -> Web3:
        w3: Web3 = self.pools.w3
        return w3

    def round_start(self, pool_id: int, round: int) -> int:
        if not 1 <= pool_id <= int(self.pools.functions.poolCount().call()):
            raise PoolDiscoveryError(f"pool {pool_id} does not exist.")
        pool = self.pools.functions.poolOf(pool_id).call()
        start, length, status = int(pool[0]), int(pool[2]), int(pool[5])
        if status not in POOL_CREATED_STATUS:
            raise PoolDiscoveryError(f"pool {pool_id} does not exist.")
        if start == 0:
            raise PoolDiscoveryError(f"pool {pool_id} has not started: it has no rounds yet.")
        return start + round * length

    def members(self, pool_id: int, round: int) -> RoundMembership:
        """The members of ``round`` of ``pool_id`` (see the module's rule).

        Raises:
            PoolDiscoveryError: the pool does not exist or has not started.
        """
        if round < 0:
            raise PoolDiscoveryError(f"round {round} does not exist.")
        round_start = self.round_start(pool_id, round)
        started = self._logs("PoolStarted", pool_id)
        if not started:
            raise PoolDiscoveryError(f"pool {pool_id} has not started: it has no rounds yet.")
        started_at = _position(started[0])
        tagged: list[tuple[tuple[int, int], str, str, int]] = []
        for name, kind in (
            ("NodeJoined", "joined"),
            ("NodeLeft", "left"),
            ("NodeEjected", "ejected"),
        ):
            for log in self._logs(name, pool_id):
                tagged.append(
                    (_position(log), kind, str(log["args"]["node"]), int(log["blockNumber"]))
                )
        tagged.sort()
        counted = [
            (kind, node)
            for position, kind, node, block in tagged
            if position < started_at or self._timestamp(block) < round_start
        ]
        membership = RoundMembership(pool_id, round, round_start, apply_events(counted))
        logger.debug(
            "round members",
            extra=kv(pool=pool_id, round=round, count=membership.count, events=len(tagged)),
        )
        return membership

    def _logs(self, event: str, pool_id: int) -> list[Any]:
        handle = getattr(self.pools.events, event)
        logs: list[Any] = handle.get_logs(
            argument_filters={"poolId": pool_id}, from_block=self.from_block
        )
        return logs

    def _timestamp(self, block: int) -> int:
        if block not in self._times:
            self._times[block] = int(self.w3.eth.get_block(block)["timestamp"])
        return self._times[block]


def _position(log: Any) -> tuple[int, int]:
    return int(log["blockNumber"]), int(log["logIndex"])
