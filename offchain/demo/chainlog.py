"""What the demo reads back from the chain: reports, attestations, outcomes, claims."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from web3.contract import Contract

logger = logging.getLogger(__name__)


@dataclass
class RoundLog:
    reports: int = 0
    attestations: int = 0
    decided: bool | None = None
    finalized: bool = False
    accepted: int = 0
    rejected: int = 0


@dataclass
class NodeLog:
    samples: int = 0
    accepted: int = 0
    rejected: int = 0
    rewards: int = 0  # accrued
    slashed: int = 0


@dataclass
class ChainLog:
    """Ledger events of one pool, folded into per-round and per-node tallies."""

    pool_id: int
    rounds: dict[int, RoundLog] = field(default_factory=lambda: defaultdict(RoundLog))
    nodes: dict[str, NodeLog] = field(default_factory=lambda: defaultdict(NodeLog))
    claimed: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @classmethod
    def read(cls, ledger: Contract, pool_id: int, from_block: int) -> ChainLog:
        log = cls(pool_id)

        def events(name: str) -> list[Any]:
            found = getattr(ledger.events, name)().get_logs(from_block=from_block)
            return [e for e in found if int(e["args"].get("poolId", pool_id)) == pool_id]

        for e in events("ReportSubmitted"):
            log.rounds[int(e["args"]["round"])].reports += 1
            log.nodes[e["args"]["node"]].samples += int(e["args"]["samples"])
        for e in events("Attested"):
            log.rounds[int(e["args"]["round"])].attestations += 1
        for e in events("RewardAccrued"):
            node = log.nodes[e["args"]["node"]]
            node.accepted += 1
            node.rewards += int(e["args"]["reward"])
        for e in events("ReportRejected"):
            node = log.nodes[e["args"]["node"]]
            node.rejected += 1
            node.slashed += int(e["args"]["slashed"])
        for e in events("RoundFinalized"):
            r = log.rounds[int(e["args"]["round"])]
            r.finalized, r.decided = True, bool(e["args"]["decided"])
            r.accepted, r.rejected = int(e["args"]["accepted"]), int(e["args"]["rejected"])
        for e in ledger.events.RewardsClaimed().get_logs(from_block=from_block):
            log.claimed[e["args"]["provider"]] += int(e["args"]["amount"])
        return log

    def finalized(self, rounds: int) -> bool:
        return all(self.rounds[r].finalized for r in range(rounds))
