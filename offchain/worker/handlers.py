"""The work behind the Celery tasks, as plain functions that tests call directly.

Every task goes through :func:`process`: dedupe by dispatch key, run the handler of its kind,
count it, mark the key done. Handlers must be idempotent (a worker killed mid-task runs the
handler again on redelivery); anything that sends a transaction goes through the outbox.

The worker acts on what it watches (through :class:`WorkerActions`, the service's side):

* ``PoolStarted``/``RoundStarted`` and its own ``NodeJoined`` -> start the pool's round work;
* its own ``NodeEjected``/``NodeLeft``, ``NodeBlacklistSet``/``PoolBlacklistSet`` (true),
  ``NodeValidationSet`` (false), its provider's ``ProviderBlacklistSet`` (true) -> stop: no
  more round work, reports not yet signed are cancelled; the opposite events lift the stop;
* ``PoolEnded`` -> no new round work in that pool (reports already made may still be sent);
* ``RewardAccrued`` for its node -> claim the provider's rewards (``claim_rewards`` setting).

What an event says is recorded in :class:`offchain.worker.standing.Standing` by its chain
position, so redelivered or reordered tasks end in the state the latest event set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from offchain.errors import LoranetError
from offchain.logging import kv
from offchain.watcher.events import ChainEvent
from offchain.worker.idempotency import ProcessedStore
from offchain.worker.metrics import WorkerMetrics
from offchain.worker.standing import NODE, pool_scope

logger = logging.getLogger(__name__)

TaskKind = Literal[
    "pool_joined",
    "round_started",
    "round_finalized",
    "rewarded",
    "node_invalidated",
    "pool_ended",
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
    "RewardAccrued": "rewarded",
    "NodeEjected": "node_invalidated",
    "NodeLeft": "node_invalidated",
    "NodeValidationSet": "node_invalidated",
    "NodeBlacklistSet": "node_invalidated",
    "PoolBlacklistSet": "node_invalidated",
    "ProviderBlacklistSet": "node_invalidated",
    "PoolEnded": "pool_ended",
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


class WorkerActions(Protocol):
    """What handlers make the service do (:class:`offchain.worker.actions.ServiceActions`)."""

    def record(self, event: ChainEvent, scope: str, flag: str, value: bool) -> bool:
        """Record a standing flag the event sets or clears; whether it changed."""
        ...

    def start(self, pool_id: int | None, reason: str) -> Any:
        """Schedule the current round of the node's pool now, if it may work for it."""
        ...

    def stop(self, pool_id: int | None, reason: str, *, cancel_reports: bool) -> Any:
        """Stop working for ``pool_id`` (``None``: every pool); cancel unsigned reports."""
        ...

    def claim(self, pool_id: int, round: int) -> Any:
        """Claim the provider's rewards after a round that paid this node (outbox)."""
        ...


@dataclass
class HandlerContext:
    """What handlers may use. ``hooks`` add behaviour per event kind; ``round_work`` is the
    service's round work (absent on a worker that only follows events)."""

    processed: ProcessedStore
    metrics: WorkerMetrics | None = None
    hooks: dict[str, Handler] = field(default_factory=dict)
    round_work: RoundWorkFn | None = None
    node: str | None = None  # this worker's node address (to notice its own ejection/slashing)
    provider: str | None = None  # the node's provider (the sending account)
    actions: WorkerActions | None = None


@dataclass(frozen=True)
class Outcome:
    key: str
    kind: str
    ran: bool
    result: Any = None


def _log_only(ctx: HandlerContext, event: ChainEvent) -> dict[str, Any]:
    return {"event": event.event, "block": event.block_number}


def _own_node(ctx: HandlerContext, event: ChainEvent) -> bool:
    node = event.args.get("node")
    return bool(ctx.node and isinstance(node, str) and node.lower() == ctx.node.lower())


def _own_provider(ctx: HandlerContext, event: ChainEvent) -> bool:
    provider = event.args.get("provider")
    return bool(
        ctx.provider and isinstance(provider, str) and provider.lower() == ctx.provider.lower()
    )


def _pool(event: ChainEvent) -> int | None:
    pool = event.args.get("poolId")
    return int(pool) if pool is not None else None


def on_pool_joined(ctx: HandlerContext, event: ChainEvent) -> Any:
    """This node joined a pool: the pool's stops by ejection/leaving are lifted, work starts."""
    result = _log_only(ctx, event)
    pool = _pool(event)
    if not _own_node(ctx, event) or pool is None:
        return result
    result["own_node"] = True
    if ctx.actions is not None:
        for flag in ("ejected", "left"):
            ctx.actions.record(event, pool_scope(pool), flag, False)
        result["action"] = ctx.actions.start(pool, f"joined pool {pool}")
    return result


def on_round_started(ctx: HandlerContext, event: ChainEvent) -> Any:
    """A pool (or round) started: start the round work if it is this node's pool."""
    result = _log_only(ctx, event)
    if ctx.actions is not None:
        pool = _pool(event)
        result["action"] = ctx.actions.start(pool, f"{event.event} of pool {pool}")
    return result


def on_round_finalized(ctx: HandlerContext, event: ChainEvent) -> Any:
    """A round was finalized: rewards accrued (``RewardAccrued``), the next base is known."""
    return _log_only(ctx, event)


def on_rewarded(ctx: HandlerContext, event: ChainEvent) -> Any:
    """A finalized round paid this node: claim the provider's rewards (outbox, once)."""
    result = _log_only(ctx, event)
    pool, round_ = _pool(event), event.args.get("round")
    if not _own_node(ctx, event) or pool is None or round_ is None:
        return result
    result["own_node"] = True
    logger.info(
        "round paid this node",
        extra=kv(pool=pool, round=round_, reward=event.args.get("reward"), node=ctx.node),
    )
    if ctx.actions is not None:
        result["action"] = ctx.actions.claim(pool, int(round_))
    return result


#: event -> (flag, scope is the pool?, the value the event's ``bool`` argument means)
_INVALIDATIONS: Mapping[str, tuple[str, bool]] = {
    "NodeEjected": ("ejected", True),
    "NodeLeft": ("left", True),
    "PoolBlacklistSet": ("pool_blacklisted", True),
    "NodeBlacklistSet": ("blacklisted", False),
    "NodeValidationSet": ("unvalidated", False),
    "ProviderBlacklistSet": ("provider_blacklisted", False),
}


def _flag_value(event: ChainEvent) -> bool:
    if event.event == "NodeValidationSet":
        return not bool(event.args.get("validated"))
    if "blacklisted" in event.args:
        return bool(event.args["blacklisted"])
    return True  # ejected, left


def on_node_invalidated(ctx: HandlerContext, event: ChainEvent) -> Any:
    """This node was ejected, left, invalidated or blacklisted (or the opposite): stop its
    pool's work (unsigned reports cancelled) or let it start again."""
    result = _log_only(ctx, event)
    mine = (
        _own_provider(ctx, event)
        if event.event == "ProviderBlacklistSet"
        else _own_node(ctx, event)
    )
    if not mine or event.event not in _INVALIDATIONS:
        return result
    result["own_node"] = True
    flag, per_pool = _INVALIDATIONS[event.event]
    pool = _pool(event) if per_pool else None
    value = _flag_value(event)
    if value:
        logger.warning(
            "this node may no longer work%s: %s",
            f" for pool {pool}" if pool is not None else "",
            flag,
            extra=kv(event=event.event, pool=pool, node=ctx.node),
        )
    if ctx.actions is None:
        return result
    scope = pool_scope(pool) if pool is not None else NODE
    changed = ctx.actions.record(event, scope, flag, value)
    result["changed"] = changed
    if value:
        result["action"] = ctx.actions.stop(pool, flag, cancel_reports=True)
    elif changed:
        result["action"] = ctx.actions.start(pool, f"{flag} lifted")
    return result


def on_pool_ended(ctx: HandlerContext, event: ChainEvent) -> Any:
    """A pool ended: no new round work for it (reports already made may still be sent)."""
    result = _log_only(ctx, event)
    pool = _pool(event)
    if ctx.actions is not None and pool is not None:
        ctx.actions.record(event, pool_scope(pool), "ended", True)
        result["action"] = ctx.actions.stop(pool, "ended", cancel_reports=False)
    return result


def on_slashed(ctx: HandlerContext, event: ChainEvent) -> Any:
    """Stake was slashed or a report rejected: record it for the operator (the ejection that
    comes with a rejection arrives as ``NodeEjected``)."""
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
    "rewarded": on_rewarded,
    "node_invalidated": on_node_invalidated,
    "pool_ended": on_pool_ended,
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
