"""What the worker does when its handlers act on an event (:class:`handlers.WorkerActions`).

* :meth:`ServiceActions.start` — schedule the current round of the node's pool now (the round
  clock also schedules every later round; both dedupe by the round's task key);
* :meth:`ServiceActions.stop` — the node may no longer work for a pool: its round work is not
  scheduled any more and, for an ejection or blacklisting, the reports not yet signed are
  cancelled in the outbox (a signed one may be mined already: nothing else to undo);
* :meth:`ServiceActions.claim` — after a round that paid the node, ``WorkLedger.claim()``
  through the outbox under the key ``(pool, round, node, "claim")``: once per paying round,
  across restarts; skipped when nothing is pending (another node of the provider claimed).

Every decision reads :class:`~offchain.worker.standing.Standing`, which the handlers update.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web3.contract import Contract

from offchain.chain.tx import TxRequest
from offchain.logging import kv
from offchain.outbox import Outbox, OutboxKey
from offchain.watcher.events import ChainEvent
from offchain.worker.round_work import REPORT_KIND
from offchain.worker.standing import Standing

logger = logging.getLogger(__name__)

CLAIM_KIND = "claim"


@dataclass
class ServiceActions:
    """The worker service's side of the handlers."""

    standing: Standing
    outbox: Outbox
    ledger: Contract
    node: str
    schedule: Callable[[], Any]  # schedule the current round now (the service's clock)
    claim_rewards: bool = True

    @property
    def provider(self) -> str:
        return self.outbox.address

    def record(self, event: ChainEvent, scope: str, flag: str, value: bool) -> bool:
        changed = self.standing.record(
            scope, flag, value, block=event.block_number, log_index=event.log_index
        )
        if changed:
            logger.info(
                "standing changed", extra=kv(scope=scope, flag=flag, value=value, event=event.event)
            )
        return changed

    def start(self, pool_id: int | None, reason: str) -> dict[str, Any]:
        scheduled = self.schedule()
        return {"start": reason, "scheduled": scheduled}

    def stop(self, pool_id: int | None, reason: str, *, cancel_reports: bool) -> dict[str, Any]:
        cancelled = self.cancel_reports(pool_id) if cancel_reports else []
        logger.warning(
            "round work stopped",
            extra=kv(pool=pool_id if pool_id is not None else "all", reason=reason,
                     cancelled=len(cancelled)),
        )  # fmt: skip
        return {"stop": reason, "pool": pool_id, "cancelled": cancelled}

    def cancel_reports(self, pool_id: int | None) -> list[str]:
        """Cancel this node's queued (never signed) reports of ``pool_id`` (``None``: all)."""
        out = []
        for entry in self.outbox.entries("queued"):
            pool, _round, node, kind = entry.key.split(":")
            if kind != REPORT_KIND or node != self.node.lower():
                continue
            if pool_id is not None and int(pool) != pool_id:
                continue
            if self.outbox.cancel(entry.key):
                out.append(entry.key)
        return out

    def claim(self, pool_id: int, round: int) -> dict[str, Any]:
        key = OutboxKey(pool_id, round, self.node, CLAIM_KIND)
        if not self.claim_rewards:
            logger.info("rewards not claimed (claim_rewards is off)", extra=kv(key=key.id))
            return {"claim": "off"}
        existing = self.outbox.get(key.id)
        if existing is not None:
            return {"claim": existing.status, "key": key.id}
        pending = int(self.ledger.functions.pendingRewards(self.provider).call())
        if pending == 0:
            logger.info("nothing to claim (already claimed)", extra=kv(key=key.id))
            return {"claim": "nothing pending"}
        entry = self.outbox.enqueue(
            key,
            TxRequest.call(
                self.ledger,
                "claim",
                description=f"claim rewards after pool {pool_id} round {round}",
                context={"pool": pool_id, "round": round},
            ),
        )
        logger.info("rewards claim enqueued", extra=kv(key=key.id, pending=pending))
        return {"claim": entry.status, "key": key.id, "pending": pending}
