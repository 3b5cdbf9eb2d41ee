"""A task whose worker is killed with SIGKILL mid-task is delivered again, on both brokers;
round work that hits a transient fault is retried with backoff until it succeeds.

Real Celery worker processes (``round_worker_process.py``) on the embedded SQLite broker and on
the real Redis at 127.0.0.1:6379. The round work of the first worker takes far longer than the
test; the test kills it once the task has started, starts a second worker (fast round work) and
waits for the round to be done exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from offchain.worker.celery_app import CeleryDispatcher, create_app
from offchain.worker.idempotency import ProcessedStore
from offchain.worker.settings import WorkerSettings

SCRIPT = Path(__file__).with_name("round_worker_process.py")


@pytest.fixture
def start_worker(
    worker_settings: WorkerSettings,
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def _start(round_work_s: float, **extra: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "LORANET_DATA_DIR": str(worker_settings.data_dir),
            "LORANET_QUEUE": worker_settings.queue,
            "LORANET_TASK_VISIBILITY_TIMEOUT_S": "2",
            "ROUND_WORK_S": str(round_work_s),
            **extra,
        }
        env.pop("LORANET_BROKER_URL", None)
        if worker_settings.broker_url:
            env["LORANET_BROKER_URL"] = worker_settings.broker_url
        log = (worker_settings.data_dir / f"worker-{len(procs)}.log").open("wb")
        proc = subprocess.Popen([sys.executable, str(SCRIPT)], env=env, stdout=log, stderr=log)
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_a_task_killed_mid_way_is_delivered_again(
    worker_settings: WorkerSettings,
    start_worker: Callable[..., subprocess.Popen[bytes]],
    wait_until: Callable[..., None],
) -> None:
    data = worker_settings.data_dir
    app = create_app(worker_settings.model_copy(update={"task_visibility_timeout_s": 2}))
    CeleryDispatcher(app).schedule_round(
        chain_id=31337, pool_id=1, round=7, node="0x" + "ab" * 20, not_before=0
    )
    slow = start_worker(600.0)
    wait_until(lambda: (data / "round-started").is_file(), timeout=120, message="task taken")
    slow.send_signal(signal.SIGKILL)  # the hard kill: no ack, no restore, nothing on exit
    slow.wait(timeout=30)
    (data / "round-started").unlink()

    start_worker(0.0)  # the restarted service
    done = data / "round-done-1-7"
    wait_until(done.is_file, timeout=120, message="redelivered round work finished")
    assert len(done.read_text().split()) == 1  # ran to the end exactly once
    store = ProcessedStore(worker_settings.tasks_db)
    try:
        key = f"round:31337:1:7:{'0x' + 'ab' * 20}"
        row = store.get(key)
        assert row is not None and row.status == "done" and row.attempts == 2
    finally:
        store.close()
    app.close()


def _schedule(settings: WorkerSettings) -> None:
    app = create_app(settings)
    CeleryDispatcher(app).schedule_round(
        chain_id=31337, pool_id=2, round=3, node="0x" + "cd" * 20, not_before=0
    )
    app.close()


def test_round_work_retries_a_full_disk_with_backoff(
    worker_settings: WorkerSettings,
    start_worker: Callable[..., subprocess.Popen[bytes]],
    wait_until: Callable[..., None],
) -> None:
    data = worker_settings.data_dir
    _schedule(worker_settings)
    start_worker(0.0, ROUND_WORK_FAIL="2", LORANET_ROUND_WORK_BACKOFF_S="0.3")
    done = data / "round-done-2-3"
    wait_until(done.is_file, timeout=120, message="round work done after the disk came back")
    assert len((data / "round-tries").read_text().split()) == 3  # two faults, then success
    log = (data / "worker-0.log").read_text()
    assert log.count("round work hit a transient fault") == 2
    assert "No space left on device" in log


def test_round_work_gives_up_after_its_retries(
    worker_settings: WorkerSettings,
    start_worker: Callable[..., subprocess.Popen[bytes]],
    wait_until: Callable[..., None],
) -> None:
    data = worker_settings.data_dir
    _schedule(worker_settings)
    start_worker(
        0.0,
        ROUND_WORK_FAIL="99",
        LORANET_ROUND_WORK_BACKOFF_S="0.1",
        LORANET_ROUND_WORK_RETRIES="2",
    )
    log = data / "worker-0.log"
    wait_until(
        lambda: "round work failed for good" in log.read_text(),
        timeout=120,
        message="round work given up with a clear line",
    )
    assert len((data / "round-tries").read_text().split()) == 3  # first try + 2 retries
    assert not (data / "round-done-2-3").exists()


def test_retry_delay_classifies_faults() -> None:
    from offchain.artifacts import ArtifactUnavailableError
    from offchain.db import StorageError
    from offchain.worker.celery_app import round_work_retry_delay
    from offchain.worker.handlers import HandlerError

    settings = WorkerSettings(round_work_backoff_s=5, round_work_retries=3)
    assert round_work_retry_delay(settings, 0, OSError(28, "No space left on device")) == 5
    assert round_work_retry_delay(settings, 2, StorageError("read-only")) == 20
    assert round_work_retry_delay(settings, 1, ArtifactUnavailableError("503")) == 10
    assert round_work_retry_delay(settings, 3, OSError("disk")) is None  # retries used up
    assert round_work_retry_delay(settings, 0, HandlerError("no trainer")) is None
    assert round_work_retry_delay(settings, 0, ValueError("a bug")) is None
