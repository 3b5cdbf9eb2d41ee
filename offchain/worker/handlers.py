"""The work behind the Celery tasks, as plain functions that tests call directly.

Every task goes through :func:`process`: dedupe by dispatch key, run the handler of its kind,
count it, mark the key done. Handlers must be idempotent (a worker killed mid-task runs the
handler again on redelivery); anything that sends a transaction goes through the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from offchain.errors import LoranetError
from offchain.logging import kv
from offchain.watcher.events import ChainEvent
from offchain.worker.idempotency import ProcessedStore
from offchain.worker.metrics import WorkerMetrics

logger = logging.getLogger(__name__)

TaskKind = Literal[
    "pool_joined",
    "round_started",
    "round_finalized",
    "node_invalidated",
    "slashed",
    "event",
    "orphaned",
]

#: Contract event name -> task kind. Events not listed go to the generic ``event`` task.
EVENT_KINDS: Mapping[str, TaskKind] = {
    "NodeJoined": "pool_joined",
    "PoolStarted": "round_started",
    "RoundStarted": "round_started",
    "RoundFinalized": "round_finalized",
    "QuorumReached": "round_finalized",
    "NodeEjected": "node_invalidated",
    "NodeValidationSet": "node_invalidated",
    "NodeBlacklistSet": "node_invalidated",
    "PoolBlacklistSet": "node_invalidated",
    "Slashed": "slashed",
    "ReportRejected": "slashed",
}


def kind_of(event_name: str) -> TaskKind:
    return EVENT_KINDS.get(event_name, "event")


Handler = Callable[["HandlerContext", ChainEvent], Any]
#: ``round_work(pool_id, round, not_before)``: train and enqueue the report (service hook).
RoundWorkFn = Callable[[int, int, int], Any]

ROUND_WORK = "round_work"


class HandlerError(LoranetError):
    """A task cannot run on this worker."""


@dataclass
class HandlerContext:
    """What handlers may use. ``hooks`` add behaviour per event kind; ``round_work`` is the
    service's round work (absent on a worker that only follows events)."""

    processed: ProcessedStore
    metrics: WorkerMetrics | None = None
    hooks: dict[str, Handler] = field(default_factory=dict)
    round_work: RoundWorkFn | None = None
    node: str | None = None  # this worker's node address (to notice its own ejection/slashing)


@dataclass(frozen=True)
class Outcome:
    key: str
    kind: str
    ran: bool
    result: Any = None


def _log_only(ctx: HandlerContext, event: ChainEvent) -> dict[str, Any]:
    return {"event": event.event, "block": event.block_number}


def on_pool_joined(ctx: HandlerContext, event: ChainEvent) -> Any:
    """A node joined a pool: the node starts following that pool's rounds."""
    return _log_only(ctx, event)


def on_round_started(ctx: HandlerContext, event: ChainEvent) -> Any:
    """A round started: the service's round-work hook trains and reports (outbox)."""
    return _log_only(ctx, event)


def on_round_finalized(ctx: HandlerContext, event: ChainEvent) -> Any:
    """A round was finalized: rewards accrued, the next base adapter is known."""
    return _log_only(ctx, event)


def _own_node(ctx: HandlerContext, event: ChainEvent) -> bool:
    node = event.args.get("node")
    return bool(ctx.node and isinstance(node, str) and node.lower() == ctx.node.lower())


def on_node_invalidated(ctx: HandlerContext, event: ChainEvent) -> Any:
    """A node was ejected, invalidated or blacklisted: stop its work.

    The round clock follows ``membershipOf`` on chain, so an ejected node schedules no more
    rounds of that pool; this handler tells the operator."""
    result = _log_only(ctx, event)
    if _own_node(ctx, event):
        logger.warning(
            "this node was removed from its pool; it stops working for that pool",
            extra=kv(event=event.event, pool=event.args.get("poolId"), node=ctx.node),
        )
        result["own_node"] = True
    return result


def on_slashed(ctx: HandlerContext, event: ChainEvent) -> Any:
    """Stake was slashed or a report rejected: record it for the operator."""
    result = _log_only(ctx, event)
    if _own_node(ctx, event):
        logger.warning(
            "a report of this node was rejected: its provider was slashed and the node ejected",
            extra=kv(
                pool=event.args.get("poolId"),
                round=event.args.get("round"),
                slashed=event.args.get("slashed"),
                node=ctx.node,
            ),
        )
        result["own_node"] = True
    return result


def on_event(ctx: HandlerContext, event: ChainEvent) -> Any:
    """Any other watched event: logged and counted."""
    return _log_only(ctx, event)


def on_orphaned(ctx: HandlerContext, event: ChainEvent) -> Any:
    """A delivered event left the canonical chain (reorg): compensate.

    Work started for it is abandoned; outbox entries not yet sent are dropped by the hook.
    """
    logger.warning(
        "event orphaned by a reorg",
        extra=kv(event=event.event, tx=event.tx_hash, log_index=event.log_index),
    )
    return _log_only(ctx, event)


HANDLERS: Mapping[str, Handler] = {
    "pool_joined": on_pool_joined,
    "round_started": on_round_started,
    "round_finalized": on_round_finalized,
    "node_invalidated": on_node_invalidated,
    "slashed": on_slashed,
    "event": on_event,
    "orphaned": on_orphaned,
}


def task_key(kind: str, event: ChainEvent) -> str:
    """Dedupe key of one task: the orphan report of an event is a task of its own."""
    prefix = "orphaned:" if kind == "orphaned" else ""
    return prefix + event.key.id


def process(ctx: HandlerContext, kind: str, event: ChainEvent) -> Outcome:
    """Run the handler of ``kind`` for ``event`` unless its key is already done."""
    key = task_key(kind, event)
    if not ctx.processed.claim(key, kind):
        logger.info("duplicate task skipped", extra=kv(kind=kind, key=key))
        if ctx.metrics is not None:
            ctx.metrics.tasks.labels(kind=kind, status="duplicate").inc()
        return Outcome(key=key, kind=kind, ran=False)
    try:
        result = HANDLERS[kind](ctx, event)
        hook = ctx.hooks.get(kind)
        if hook is not None:
            result = hook(ctx, event)
    except Exception:
        if ctx.metrics is not None:
            ctx.metrics.tasks.labels(kind=kind, status="failed").inc()
        raise
    ctx.processed.complete(key, result)
    if ctx.metrics is not None:
        ctx.metrics.tasks.labels(kind=kind, status="done").inc()
        ctx.metrics.events_processed.labels(event=event.event).inc()
    logger.info("task done", extra=kv(kind=kind, key=key, event=event.event))
    return Outcome(key=key, kind=kind, ran=True, result=result)


def round_key(chain_id: int, pool_id: int, round: int, node: str) -> str:
    """Dedupe key of the round work of one node."""
    return f"round:{chain_id}:{pool_id}:{round}:{node.lower()}"


def process_round(
    ctx: HandlerContext, *, key: str, pool_id: int, round: int, not_before: int
) -> Outcome:
    """Run the round work for ``(pool_id, round)`` unless its key is already done."""
    if not ctx.processed.claim(key, ROUND_WORK):
        logger.info("duplicate round work skipped", extra=kv(key=key))
        if ctx.metrics is not None:
            ctx.metrics.tasks.labels(kind=ROUND_WORK, status="duplicate").inc()
        return Outcome(key=key, kind=ROUND_WORK, ran=False)
    if ctx.round_work is None:
        raise HandlerError("this worker has no round work configured (no node key/trainer).")
    try:
        result = ctx.round_work(pool_id, round, not_before)
    except Exception:
        if ctx.metrics is not None:
            ctx.metrics.tasks.labels(kind=ROUND_WORK, status="failed").inc()
        raise
    ctx.processed.complete(key, result)
    if ctx.metrics is not None:
        ctx.metrics.tasks.labels(kind=ROUND_WORK, status="done").inc()
    logger.info("round work done", extra=kv(key=key, pool=pool_id, round=round))
    return Outcome(key=key, kind=ROUND_WORK, ran=True, result=result)
