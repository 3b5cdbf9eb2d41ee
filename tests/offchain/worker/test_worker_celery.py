"""Events emitted on chain reach Celery tasks exactly once, on both brokers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from offchain.watcher import EventWatcher
from offchain.worker.celery_app import CeleryDispatcher, LoranetCelery, create_app
from offchain.worker.handlers import HandlerContext, process
from offchain.worker.idempotency import ProcessedStore
from offchain.worker.settings import WorkerSettings

MakeWatcher = Callable[..., EventWatcher]

pytestmark = pytest.mark.usefixtures("owner", "alice", "bob", "token_watched", "token_start_block")


@pytest.fixture
def app(worker_settings: WorkerSettings) -> Iterator[LoranetCelery]:
    app = create_app(worker_settings)
    yield app
    app.close()


@pytest.fixture
def processed(worker_settings: WorkerSettings) -> Iterator[ProcessedStore]:
    store = ProcessedStore(worker_settings.tasks_db)
    yield store
    store.close()


@pytest.mark.usefixtures("celery_worker")
def test_chain_events_are_handled_once_by_a_real_worker(
    app: LoranetCelery,
    processed: ProcessedStore,
    make_watcher: MakeWatcher,
    wait_until: Callable[..., None],
    token: Any,
    owner: Any,
    alice: Any,
) -> None:
    for amount in (1, 2, 3):
        token.mint(alice, amount, sender=owner)
    dispatcher = CeleryDispatcher(app)
    watcher = make_watcher(dispatcher=dispatcher)
    assert watcher.poll_once().delivered == 3

    wait_until(lambda: processed.count("done") == 3, message="3 tasks done")
    events = watcher.store.events(watcher.chain_id)
    assert {row.key for row in processed.rows()} == {e.key.id for e in events}

    # Redelivery (a crash between delivering and marking delivered) changes nothing.
    for event in events:
        dispatcher.dispatch(event)
    wait_until(
        lambda: sum(row.duplicates for row in processed.rows()) == 3, message="3 duplicates seen"
    )
    assert processed.count("done") == 3
    assert all(row.attempts == 1 for row in processed.rows())


@pytest.mark.usefixtures("celery_worker")
def test_orphan_reports_are_tasks_of_their_own(
    app: LoranetCelery,
    processed: ProcessedStore,
    make_watcher: MakeWatcher,
    wait_until: Callable[..., None],
    token: Any,
    owner: Any,
    alice: Any,
) -> None:
    token.mint(alice, 9, sender=owner)
    dispatcher = CeleryDispatcher(app)
    watcher = make_watcher(dispatcher=dispatcher)
    watcher.poll_once()
    (event,) = watcher.store.events(watcher.chain_id)
    dispatcher.orphaned(event)
    wait_until(lambda: processed.count("done") == 2, message="event and orphan report done")
    assert processed.get("orphaned:" + event.key.id) is not None


def test_process_runs_a_handler_once_per_key(
    processed: ProcessedStore, make_watcher: MakeWatcher, token: Any, owner: Any, alice: Any
) -> None:
    token.mint(alice, 4, sender=owner)
    watcher = make_watcher()
    watcher.poll_once()
    (event,) = watcher.store.events(watcher.chain_id)
    calls: list[str] = []
    ctx = HandlerContext(
        processed=processed, hooks={"event": lambda _c, e: calls.append(e.tx_hash)}
    )

    assert process(ctx, "event", event).ran
    assert not process(ctx, "event", event).ran
    assert calls == [event.tx_hash]
    row = processed.get(event.key.id)
    assert row is not None and row.status == "done" and row.duplicates == 1


def test_a_handler_that_failed_runs_again(
    processed: ProcessedStore, make_watcher: MakeWatcher, token: Any, owner: Any, alice: Any
) -> None:
    token.mint(alice, 4, sender=owner)
    watcher = make_watcher()
    watcher.poll_once()
    (event,) = watcher.store.events(watcher.chain_id)

    def boom(_ctx: HandlerContext, _event: Any) -> None:
        raise RuntimeError("killed mid-task")

    with pytest.raises(RuntimeError):
        process(HandlerContext(processed=processed, hooks={"event": boom}), "event", event)
    assert process(HandlerContext(processed=processed), "event", event).ran
    row = processed.get(event.key.id)
    assert row is not None and row.status == "done" and row.attempts == 2
