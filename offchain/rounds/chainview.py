"""Reads of the chain the validator (and nodes) need: round windows, the round's base adapter,
the block whose hash seeds the replay steps."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.contract import Contract

logger = logging.getLogger(__name__)

ZERO_HASH = "0x" + "00" * 32


def _timestamp(w3: Web3, number: int) -> int:
    return int(w3.eth.get_block(number)["timestamp"])


def last_block_before(w3: Web3, timestamp: int) -> int | None:
    """The highest block whose timestamp is < ``timestamp`` (None if even block 0 is not)."""
    lo, hi = 0, int(w3.eth.block_number)
    if _timestamp(w3, lo) >= timestamp:
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _timestamp(w3, mid) < timestamp:
            lo = mid
        else:
            hi = mid - 1
    return lo


def first_block_at(w3: Web3, timestamp: int) -> int | None:
    """The lowest block whose timestamp is >= ``timestamp`` (None if none was mined yet)."""
    before = last_block_before(w3, timestamp)
    candidate = 0 if before is None else before + 1
    return candidate if candidate <= int(w3.eth.block_number) else None


def hex32(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, bytes | bytearray) else str(value)


@dataclass(frozen=True)
class RoundWindow:
    pool_id: int
    round: int
    start: int
    end: int
    submission_end: int
    challenge_end: int
    expires_at: int  # attestations are taken until here; no quorum by then: finalize undecided


class ChainView:
    """Views over ``ComputePool``, ``DomainRegistry`` and ``WorkLedger``."""

    def __init__(self, w3: Web3, pools: Contract, domains: Contract, ledger: Contract) -> None:
        self.w3, self.pools, self.domains, self.ledger = w3, pools, domains, ledger

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def policy(self, pool_id: int) -> tuple[Any, ...]:
        domain_id = int(self.pools.functions.poolOf(pool_id).call()[4])
        return tuple(self.domains.functions.policyOf(domain_id).call())

    def window(self, pool_id: int, round: int) -> RoundWindow:
        start, end, submission_end = self.pools.functions.roundWindow(pool_id, round).call()
        challenge = int(self.policy(pool_id)[1])
        return RoundWindow(
            pool_id,
            round,
            int(start),
            int(end),
            int(submission_end),
            int(submission_end) + challenge,
            int(submission_end) + 2 * challenge,  # WorkLedger: challenge window + same grace
        )

    def base_adapter_at_start(self, pool_id: int, round: int) -> str:
        """``baseAdapterOf(pool)`` as it was when ``round`` started: the adapter the round
        trains from (0x00.. = the fresh, seeded LoRA initialisation)."""
        start = int(self.pools.functions.roundWindow(pool_id, round).call()[0])
        block = last_block_before(self.w3, start)
        if block is None:
            return ZERO_HASH
        value = self.ledger.functions.baseAdapterOf(pool_id).call(block_identifier=block)
        return hex32(value)

    def seed_block_hash(self, submission_end: int) -> str | None:
        """Hash of the first block at or after the submission deadline (None until mined)."""
        number = first_block_at(self.w3, submission_end)
        if number is None:
            return None
        return hex32(self.w3.eth.get_block(number)["hash"])

    def round_state(self, pool_id: int, round: int) -> tuple[Any, ...]:
        """``(reportCount, accepted, rejected, decided, finalized, awarded, settled)``."""
        return tuple(self.ledger.functions.roundState(pool_id, round).call())

    def has_attested(self, pool_id: int, round: int, validator: str) -> bool:
        return bool(self.ledger.functions.hasAttested(pool_id, round, validator).call())
