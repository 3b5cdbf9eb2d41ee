"""Celery app factory, tasks and the dispatcher that feeds them.

Broker: embedded by default (kombu's SQLAlchemy transport on ``<data dir>/broker.db``, results
in ``<data dir>/results.db``): one machine needs no server. ``LORANET_BROKER_URL=redis://...``
switches both to Redis for many machines.

Tasks are thin and keyword-only: ``loranet.<kind>(key=..., event=...)`` validates the event and
calls :func:`offchain.worker.handlers.process`, which dedupes by the dispatch key.

Nothing is created at import time. ``celery -A offchain.worker.celery_app worker`` works
through the module ``__getattr__`` below, which builds an app from the environment.
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Sequence
from typing import Any

from celery import Celery

from offchain.logging import configure_logging, kv
from offchain.runtime import is_transient
from offchain.settings import load_settings
from offchain.watcher.events import ChainEvent
from offchain.worker import handlers
from offchain.worker.handlers import HandlerContext, kind_of
from offchain.worker.idempotency import ProcessedStore
from offchain.worker.metrics import WorkerMetrics
from offchain.worker.settings import WorkerSettings

logger = logging.getLogger(__name__)

TASK_PREFIX = "loranet."


class LoranetCelery(Celery):
    """A Celery app that carries its settings and builds its handler context on first use."""

    settings: WorkerSettings
    metrics: WorkerMetrics | None
    _context: HandlerContext | None

    def handler_context(self) -> HandlerContext:
        if self._context is None:
            self._context = HandlerContext(
                processed=ProcessedStore(self.settings.tasks_db), metrics=self.metrics
            )
        return self._context

    def set_handler_context(self, context: HandlerContext) -> None:
        self._context = context


EMBEDDED_BROKER_ATTEMPTS = 6


def prepare_embedded_broker(app: Celery, queue: str) -> None:
    """Create the embedded broker's tables and ``queue``'s row before anything publishes.

    kombu's SQLAlchemy transport creates both lazily, on first use, guarded by a lock that only
    covers one process's threads. Two processes opening a new ``broker.db`` at once (a worker
    process and the watcher's dispatcher) race on ``CREATE TABLE`` and the queue ``INSERT``;
    the loser's publish is retried by kombu on a channel it has already closed
    (``'NoneType' object has no attribute 'client'``). Done here first, with bounded retries
    and backoff, the first publish finds everything in place.
    """
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(EMBEDDED_BROKER_ATTEMPTS):
        try:
            with app.connection_for_write() as conn:
                conn.default_channel._get_or_create(queue)
            return
        except (OperationalError, IntegrityError) as err:
            if attempt == EMBEDDED_BROKER_ATTEMPTS - 1:
                raise
            logger.info(
                "embedded broker busy, retrying", extra=kv(attempt=attempt + 1, error=str(err))
            )
            time.sleep(0.1 * 2**attempt)


def _task_key(payload: str) -> str | None:
    """The ``key`` keyword argument of a Celery (protocol 2) message stored by kombu."""
    try:
        message = json.loads(payload)
        body: Any = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        _args, kwargs, _embed = json.loads(body)
        key = kwargs.get("key")
    except (ValueError, KeyError, TypeError):
        return None
    return key if isinstance(key, str) else None


def redeliver_unacked(settings: WorkerSettings, processed: ProcessedStore) -> dict[str, int]:
    """Embedded broker: make the tasks a killed worker had taken deliverable again.

    kombu's SQLAlchemy transport marks a message invisible when a consumer takes it and never
    shows it again (acknowledgement is kept in the consumer's memory only), so a ``kill -9``
    mid-task would lose the task for good. The embedded broker has one consumer, the service of
    its data dir, so when that service starts nothing can be in flight: every invisible message
    is either done (its key is ``done`` in the task store: deleted) or was interrupted
    (made visible again; the handler is idempotent and the task store dedupes). Returns counts.
    Redis needs none of this: its visibility timeout redelivers (``task_visibility_timeout_s``).
    """
    if not settings.resolved_broker_url.startswith("sqla+sqlite"):
        return {"redelivered": 0, "dropped": 0}
    path = settings.data_dir / "broker.db"
    if not path.is_file():
        return {"redelivered": 0, "dropped": 0}
    redelivered: list[int] = []
    dropped: list[int] = []
    with sqlite3.connect(path, timeout=30) as db:
        try:
            rows = db.execute("SELECT id, payload FROM kombu_message WHERE visible = 0").fetchall()
        except sqlite3.OperationalError:  # no table yet: nothing was ever sent
            return {"redelivered": 0, "dropped": 0}
        for message_id, payload in rows:
            key = _task_key(payload)
            (dropped if key is not None and processed.is_done(key) else redelivered).append(
                int(message_id)
            )
        db.executemany(
            "UPDATE kombu_message SET visible = 1 WHERE id = ?", [(i,) for i in redelivered]
        )
        db.executemany("DELETE FROM kombu_message WHERE id = ?", [(i,) for i in dropped])
    if redelivered:
        logger.warning(
            "tasks interrupted by a crash are delivered again",
            extra=kv(redelivered=len(redelivered), dropped_done=len(dropped)),
        )
    return {"redelivered": len(redelivered), "dropped": len(dropped)}


ROUND_WORK_BACKOFF_MAX_S = 300.0


def round_work_retry_delay(
    settings: WorkerSettings, retries: int, err: BaseException
) -> float | None:
    """Seconds before round work that failed with ``err`` runs again (its ``retries``-th
    retry), or ``None`` when it must not: a fault that is not transient, or retries used up."""
    if not is_transient(err) or retries >= settings.round_work_retries:
        return None
    return min(ROUND_WORK_BACKOFF_MAX_S, settings.round_work_backoff_s * 2**retries)


def create_app(
    settings: WorkerSettings,
    *,
    metrics: WorkerMetrics | None = None,
    context: HandlerContext | None = None,
) -> LoranetCelery:
    """Build the Celery app of one node from its settings."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = LoranetCelery(
        "loranet",
        broker=settings.resolved_broker_url,
        backend=settings.resolved_result_backend,
        set_as_current=False,
    )
    app.settings = settings
    app.metrics = metrics
    app._context = context
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=settings.queue,
        task_acks_late=True,  # a task is acked after it ran: a killed worker's task comes back
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        result_expires=24 * 3600,
        enable_utc=True,
    )
    if settings.resolved_broker_url.startswith(("redis://", "rediss://")):
        # unacknowledged tasks of a killed worker come back after this long (the SQLAlchemy
        # transport has no such option: see redeliver_unacked)
        # kombu scans for them every interval x throttle seconds (100 s by default): scan
        # every interval, and never less often than the timeout itself.
        timeout = settings.task_visibility_timeout_s
        app.conf.broker_transport_options = {
            "visibility_timeout": timeout,
            "unacked_restore_interval": max(1, min(10, int(timeout // 2))),
            "unacked_restore_throttle": 1,
        }
    for kind in handlers.HANDLERS:
        _register(app, kind)

    def round_work(
        task: Any, *, key: str, pool_id: int, round: int, not_before: int
    ) -> dict[str, Any]:
        try:
            outcome = handlers.process_round(
                app.handler_context(),
                key=key,
                pool_id=pool_id,
                round=round,
                not_before=not_before,
            )
        except Exception as err:
            retry_in = round_work_retry_delay(settings, task.request.retries, err)
            if retry_in is None:
                logger.error(
                    "round work failed for good; this round will not be reported",
                    extra=kv(key=key, pool=pool_id, round=round, attempts=task.request.retries + 1,
                             error=str(err)),
                )  # fmt: skip
                raise
            logger.warning(
                "round work hit a transient fault (disk full or read-only? store or RPC down?); "
                "retrying",
                extra=kv(key=key, pool=pool_id, round=round, attempt=task.request.retries + 1,
                         retry_in_s=retry_in, error=str(err)),
            )  # fmt: skip
            raise task.retry(countdown=retry_in, exc=err, max_retries=None) from err
        return {"key": outcome.key, "ran": outcome.ran}

    app.task(name=TASK_PREFIX + handlers.ROUND_WORK, acks_late=True, bind=True)(round_work)
    if settings.resolved_broker_url.startswith("sqla+"):
        prepare_embedded_broker(app, settings.queue)
    return app


def _register(app: LoranetCelery, kind: str) -> None:
    def run(*, key: str, event: dict[str, Any]) -> dict[str, Any]:
        parsed = ChainEvent.model_validate(event)
        outcome = handlers.process(app.handler_context(), kind, parsed)
        if outcome.key != key:
            logger.warning("task key mismatch", extra=kv(given=key, computed=outcome.key))
        return {"key": outcome.key, "ran": outcome.ran}

    run.__name__ = run.__qualname__ = f"task_{kind}"
    app.task(name=TASK_PREFIX + kind, acks_late=True)(run)


class CeleryDispatcher:
    """The watcher's dispatcher in the service: one task per event, routed by event name."""

    def __init__(self, app: Celery, metrics: WorkerMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    def _send(self, kind: str, event: ChainEvent) -> None:
        key = handlers.task_key(kind, event)
        self.app.send_task(
            TASK_PREFIX + kind,
            kwargs={"key": key, "event": event.model_dump(mode="json")},
            task_id=f"{key}/{uuid.uuid4().hex[:8]}",
        )
        if self.metrics is not None:
            self.metrics.events_dispatched.inc()

    def dispatch(self, event: ChainEvent) -> None:
        self._send(kind_of(event.event), event)

    def orphaned(self, event: ChainEvent) -> None:
        self._send("orphaned", event)

    def schedule_round(
        self, *, chain_id: int, pool_id: int, round: int, node: str, not_before: int
    ) -> str:
        """Queue the round work of ``node`` for ``(pool_id, round)``; returns the task key."""
        key = handlers.round_key(chain_id, pool_id, round, node)
        self.app.send_task(
            TASK_PREFIX + handlers.ROUND_WORK,
            kwargs={"key": key, "pool_id": pool_id, "round": round, "not_before": not_before},
            task_id=f"{key}/{uuid.uuid4().hex[:8]}",
        )
        return key


def worker_argv(
    settings: WorkerSettings, *, pool: str = "solo", loglevel: str = "INFO"
) -> list[str]:
    """Arguments of ``celery worker`` for one node: one queue, no broadcast chatter."""
    return [
        "worker",
        "--pool",
        pool,
        "--concurrency",
        "1",
        "--queues",
        settings.queue,
        "--loglevel",
        loglevel,
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
        "--hostname",
        f"loranet-{uuid.uuid4().hex[:6]}@%h",
    ]


def run_worker(app: Celery, argv: Sequence[str]) -> None:
    """Run a Celery worker in this process until it is told to stop (SIGTERM/SIGINT)."""
    app.worker_main(list(argv))


def __getattr__(name: str) -> Any:
    # ``celery -A offchain.worker.celery_app ...`` looks up ``app``: build it from the environment.
    if name in ("app", "celery"):
        return create_app(load_settings().worker)
    raise AttributeError(name)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m offchain.worker.celery_app``: run a worker from the environment's settings."""
    configure_logging()
    settings = load_settings().worker
    app = create_app(settings)
    run_worker(app, list(argv) if argv else worker_argv(settings))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
