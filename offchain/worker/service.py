"""The worker service assembled: watcher + Celery worker + round clock + outbox + heartbeats
+ metrics + artifact store (and its server), in one process (``loranet worker run``).

Threads: the main thread polls the watcher, schedules round work and drives the outbox; a
Celery ``WorkController`` (solo pool) runs the tasks, whose handlers act on the node's events
(:mod:`offchain.worker.handlers`: start, stop, claim); a heartbeat thread reports the machine;
with the ``http`` artifact store, a server thread serves the node's artifacts by hash.
SIGINT/SIGTERM set the stop flag: the main loop finishes its step, the Celery worker finishes
its task (a task interrupted by a hard kill comes back: tasks are acknowledged late), state is
on disk (watcher.db, tasks.db, outbox.db), so a restart resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from offchain.artifacts import ArtifactStore, open_store, serve
from offchain.chain.client import ChainClient
from offchain.chain.tx import TxSender
from offchain.logging import kv
from offchain.outbox import Outbox
from offchain.runtime import ServiceRuntime
from offchain.shutdown import StopFlag
from offchain.watcher import EventWatcher, WatchedContract, WatcherStore, deployed_contracts
from offchain.worker.actions import ServiceActions
from offchain.worker.celery_app import (
    CeleryDispatcher,
    LoranetCelery,
    create_app,
    redeliver_unacked,
)
from offchain.worker.handlers import HandlerContext
from offchain.worker.heartbeat import (
    Heartbeat,
    collect_heartbeat,
    heartbeat_key,
    heartbeat_loop,
    log_heartbeat,
    publish_heartbeat,
)
from offchain.worker.idempotency import ProcessedStore
from offchain.worker.metrics import WorkerMetrics
from offchain.worker.round_work import RoundWorker, TrainFn, store_fn
from offchain.worker.rounds import RoundClock, RoundScheduler, RoundSlot
from offchain.worker.settings import WorkerSettings
from offchain.worker.standing import Standing

logger = logging.getLogger(__name__)

HEARTBEAT_FILE = "heartbeat.json"


def watched_contracts(client: ChainClient) -> list[WatchedContract]:
    """Every deployed loranet contract that has an exported ABI."""
    return deployed_contracts(client.deployment.contracts)


@dataclass
class WorkerService:
    """One node's service. Build with :meth:`build`; run with :meth:`run`."""

    settings: WorkerSettings
    client: ChainClient
    node: LocalAccount
    app: LoranetCelery
    watcher: EventWatcher
    outbox: Outbox
    clock: RoundClock
    dispatcher: CeleryDispatcher
    metrics: WorkerMetrics
    dht: Any = None
    store: ArtifactStore | None = None
    standing: Standing | None = None
    scheduler: RoundScheduler = field(init=False)

    def __post_init__(self) -> None:
        self.scheduler = RoundScheduler(self.clock, self.standing, self._dispatch_round)

    @classmethod
    def build(
        cls,
        *,
        settings: WorkerSettings,
        client: ChainClient,
        sender: TxSender,
        node: LocalAccount,
        train: TrainFn,
        dht: Any = None,
        metrics: WorkerMetrics | None = None,
        store: ArtifactStore | None = None,
    ) -> WorkerService:
        data = settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        if store is None:  # raises a readable error for a file store on a public chain
            store = open_store(
                settings.artifacts,
                data_dir=data,
                chain_id=client.chain_id,
                network=client.settings.network,
            )
        metrics = metrics or WorkerMetrics()
        outbox = Outbox(
            settings.outbox_db,
            sender=sender,
            stuck_after_s=settings.outbox_stuck_after_s,
            fee_bump_bps=settings.outbox_fee_bump_bps,
            confirmations=settings.outbox_confirmations,
            reorg_window=settings.reorg_window,
            recheck_interval_s=settings.outbox_recheck_interval_s,
            metrics=metrics,
        )
        round_worker = RoundWorker(
            outbox=outbox,
            node_key=node,
            ledger=client.deployment.address("WorkLedger"),
            chain_id=client.chain_id,
            train=train,
            store=store_fn(store),  # adapter + checkpoints + replay bundle, public URI
            rounds_dir=data / "rounds",
        )
        standing = Standing(settings.standing_db)

        def round_work(pool_id: int, round: int, not_before: int) -> dict[str, Any]:
            halts = standing.halts(pool_id)
            if halts:
                logger.warning("round work skipped", extra=kv(pool=pool_id, halts=halts))
                return {"skipped": halts}
            entry = round_worker.prepare(pool_id, round, not_before=not_before)
            if standing.halts(pool_id) and outbox.cancel(entry.key):  # stopped meanwhile
                return {"outbox_key": entry.key, "status": "cancelled"}
            return {"outbox_key": entry.key, "status": entry.status}

        service: WorkerService | None = None

        def schedule() -> Any:
            return service.schedule_rounds() if service is not None else None

        actions = ServiceActions(
            standing=standing,
            outbox=outbox,
            ledger=client.contract("WorkLedger"),
            node=node.address,
            schedule=schedule,
            claim_rewards=settings.claim_rewards,
        )
        context = HandlerContext(
            processed=ProcessedStore(settings.tasks_db),
            metrics=metrics,
            round_work=round_work,
            node=node.address,
            provider=outbox.address,
            actions=actions,
        )
        app = create_app(settings, metrics=metrics, context=context)
        dispatcher = CeleryDispatcher(app, metrics)
        start = settings.watch_start_block
        watcher = EventWatcher(
            w3=client.w3,
            contracts=watched_contracts(client),
            store=WatcherStore(settings.watcher_db),
            dispatcher=dispatcher,
            confirmations=settings.watch_confirmations,
            start_block=client.deployment.block if start is None else start,
            page_size=settings.watch_page_size,
            max_page_size=max(settings.watch_max_page_size, settings.watch_page_size),
            reorg_window=settings.reorg_window,
            show_progress=True,
            chain_id=client.chain_id,
        )
        clock = RoundClock(client.contract("ComputePool"), node.address)
        service = cls(
            settings=settings,
            client=client,
            node=node,
            app=app,
            watcher=watcher,
            outbox=outbox,
            clock=clock,
            dispatcher=dispatcher,
            metrics=metrics,
            dht=dht,
            store=store,
            standing=standing,
        )
        return service

    # -- one step --------------------------------------------------------------------------------

    def schedule_rounds(self) -> str | None:
        """Queue the round work of the current round once (see :class:`RoundScheduler`)."""
        return self.scheduler.schedule()

    def _dispatch_round(self, slot: RoundSlot) -> str:
        return self.dispatcher.schedule_round(
            chain_id=self.client.chain_id,
            pool_id=slot.pool_id,
            round=slot.round,
            node=self.node.address,
            not_before=slot.end,
        )

    def step(self) -> None:
        result = self.watcher.poll_once()
        self.metrics.cursor_block.set(self.watcher.cursor())
        if result.events:
            logger.info("events dispatched", extra=kv(count=result.events))
        self.schedule_rounds()
        self.outbox.process_once()

    # -- heartbeats ------------------------------------------------------------------------------

    def beat(self) -> Heartbeat:
        beat = collect_heartbeat(self.node.address, self.settings.data_dir)
        log_heartbeat(beat)
        path = self.settings.data_dir / HEARTBEAT_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(beat.model_dump_json())
        tmp.replace(path)
        self.metrics.last_heartbeat.set(beat.ts)
        slot = self.clock.current() if self.dht is not None else None
        if slot is not None:
            publish_heartbeat(
                self.dht, heartbeat_key(slot.pool_id), beat, ttl_s=self.settings.heartbeat_ttl_s
            )
        return beat

    # -- the loop --------------------------------------------------------------------------------

    def poll_events(self) -> None:
        """The watcher step: read new logs, dispatch them as tasks, export the cursor."""
        result = self.watcher.poll_once()
        self.metrics.cursor_block.set(self.watcher.cursor())
        if result.reorg is not None and result.reorg.too_deep:
            self.metrics.reorg_too_deep.inc()
        if result.events:
            logger.info("events dispatched", extra=kv(count=result.events))

    def runtime(self) -> ServiceRuntime:
        """The service loop: watcher, round clock and outbox as separate steps, so that an RPC
        outage of one does not stop the others, each backing off on its own."""
        runtime = ServiceRuntime(
            "worker",
            interval_s=self.settings.watch_poll_interval_s,
            on_failure=lambda step, _err: self.metrics.step_failures.labels(step=step).inc(),
        )
        runtime.add_step("watcher", self.poll_events)
        runtime.add_step("rounds", self.schedule_rounds)
        runtime.add_step("outbox", self.outbox.process_once)
        return runtime

    def run(self, stop: StopFlag, *, max_steps: int | None = None) -> None:
        """Run until ``stop`` is set (or ``max_steps`` loop passes are done).

        Stopping (SIGINT/SIGTERM): the loop finishes the step it is in; the Celery worker is
        told to stop and the running task, if any, gets ``shutdown_grace_s`` to finish. A task
        still running then is abandoned unacknowledged (its work is idempotent) and delivered
        again when the service starts next.
        """
        redeliver_unacked(self.settings, self.app.handler_context().processed)
        runtime = self.runtime()
        if self.settings.metrics_port:
            server = self.metrics.serve(self.settings.metrics_port, self.settings.metrics_host)
            runtime.on_close("metrics server", server.stop)
        if self.store is not None and self.store.kind == "http":
            artifact_server = serve(self.settings.artifacts, data_dir=self.settings.data_dir)
            runtime.on_close("artifact server", artifact_server.stop)
        runtime.on_close("stores", self.close)
        worker = self.app.WorkController(
            pool_cls="solo",
            concurrency=1,
            queues=[self.settings.queue],
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            hostname=f"loranet-{self.node.address[-6:]}@localhost",
        )
        celery_thread = threading.Thread(target=worker.start, name="celery-worker", daemon=True)
        heartbeat_thread = threading.Thread(
            target=heartbeat_loop,
            name="heartbeat",
            kwargs={
                "stop": stop,
                "interval_s": self.settings.heartbeat_interval_s,
                "beat": self.beat,
            },
            daemon=True,
        )

        def stop_celery() -> None:
            stop.set("exiting")
            worker.stop(in_sighandler=False)
            celery_thread.join(timeout=self.settings.shutdown_grace_s)
            if celery_thread.is_alive():
                logger.warning(
                    "a task was still running after the shutdown grace; abandoned "
                    "unacknowledged, it is delivered again on restart",
                    extra=kv(grace_s=self.settings.shutdown_grace_s),
                )
            heartbeat_thread.join(timeout=5)

        runtime.on_close("celery worker", stop_celery)
        celery_thread.start()
        heartbeat_thread.start()
        logger.info(
            "worker service up",
            extra=kv(
                node=self.node.address, chain_id=self.client.chain_id, queue=self.settings.queue
            ),
        )
        try:
            runtime.run(stop, max_steps=max_steps)
        finally:
            logger.info("worker service stopped", extra=kv(reason=stop.reason))

    def close(self) -> None:
        self.outbox.close()
        self.watcher.store.close()
        self.app.close()
        if self.standing is not None:
            self.standing.close()


# -- status --------------------------------------------------------------------------------------


def queue_depth(settings: WorkerSettings) -> int | None:
    """Messages waiting in the node's queue (embedded SQLite broker or Redis); None if unknown."""
    url = settings.resolved_broker_url
    try:
        if url.startswith(("redis://", "rediss://")):
            import redis

            return int(redis.Redis.from_url(url, socket_connect_timeout=1).llen(settings.queue))
        if url.startswith("sqla+sqlite:///"):
            import sqlite3

            path = Path(url.removeprefix("sqla+sqlite:///"))
            if not path.is_file():
                return 0
            with sqlite3.connect(path) as db:
                row = db.execute(
                    "SELECT COUNT(*) FROM kombu_message m JOIN kombu_queue q "
                    "ON m.queue_id = q.id WHERE q.name = ? AND m.visible = 1",
                    (settings.queue,),
                ).fetchone()
            return int(row[0])
    except Exception as err:  # the status command must not fail on a broker problem
        logger.info("queue depth unknown", extra=kv(error=str(err)))
    return None


def _standing_flags(path: Path) -> dict[str, list[str]]:
    """The node's set standing flags (ejected, blacklisted...), by scope."""
    if not path.is_file():
        return {}
    standing = Standing(path)
    try:
        return standing.flags()
    finally:
        standing.close()


def _has_table(path: Path, table: str) -> bool:
    """Whether a database (possibly being created by a starting service) has ``table``."""
    import sqlite3

    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).fetchone()
    return row is not None


def service_status(settings: WorkerSettings) -> dict[str, Any]:
    """What ``loranet worker status`` shows, read from the data dir (no chain access)."""
    import sqlite3

    data = settings.data_dir
    status: dict[str, Any] = {"data_dir": str(data)}
    cursors: list[dict[str, Any]] = []
    if settings.watcher_db.is_file() and _has_table(settings.watcher_db, "dispatched"):
        with sqlite3.connect(settings.watcher_db) as db:
            for chain_id, scope, block in db.execute(
                "SELECT chain_id, scope, block_number FROM cursor"
            ):
                counts = dict(
                    db.execute(
                        "SELECT status, COUNT(*) FROM dispatched WHERE chain_id=? GROUP BY status",
                        (chain_id,),
                    ).fetchall()
                )
                cursors.append(
                    {"chain_id": chain_id, "scope": scope, "block": block, "events": counts}
                )
    status["cursor"] = cursors
    status["queue_depth"] = queue_depth(settings)
    outbox: dict[str, int] = {}
    if settings.outbox_db.is_file() and _has_table(settings.outbox_db, "outbox"):
        with sqlite3.connect(settings.outbox_db) as db:
            outbox = {
                s: n for s, n in db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status")
            }
    status["outbox"] = outbox
    status["standing"] = _standing_flags(settings.standing_db)
    beat_path = data / HEARTBEAT_FILE
    if beat_path.is_file():
        beat = json.loads(beat_path.read_text())
        status["last_heartbeat"] = {
            "ts": beat["ts"],
            "age_s": round(time.time() - float(beat["ts"]), 1),
            "cpu_percent": beat["cpu_percent"],
            "ram_used": beat["ram_used"],
        }
    else:
        status["last_heartbeat"] = None
    return status


def dry_run_train_fn(*, seconds: float = 0.0) -> TrainFn:
    """A trainer that trains nothing: writes a small deterministic file as the "adapter",
    after pretending to train for ``seconds`` (``LORANET_DRY_RUN_TRAIN_S``).

    For local end-to-end runs without the ML stack only; validators reject such reports.
    """
    import hashlib

    from offchain.worker.round_work import TrainedRound

    def _train(pool_id: int, round: int, out_dir: Path) -> TrainedRound:
        if seconds > 0:
            (out_dir / "training").write_text("started")
            time.sleep(seconds)
        data = f"loranet dry-run adapter pool={pool_id} round={round}".encode()
        path = out_dir / "adapter.safetensors"
        path.write_bytes(data)
        return TrainedRound(
            adapter_path=path,
            adapter_hash="0x" + hashlib.sha256(data).hexdigest(),
            samples=1,
            loss=0.0,
            replay_root="0x" + hashlib.sha256(b"no records").hexdigest(),
        )

    return _train


def initial_peers_dht(initial_peers: Sequence[str]) -> Any:
    """A hivemind DHT joined to the pool's peers (for heartbeats)."""
    from hivemind import DHT

    return DHT(start=True, initial_peers=list(initial_peers), client_mode=False)
