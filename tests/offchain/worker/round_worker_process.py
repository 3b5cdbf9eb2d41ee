"""A real Celery worker process whose round work takes ``ROUND_WORK_S`` seconds.

Run as ``python tests/offchain/worker/round_worker_process.py`` with the ``LORANET_*`` settings in
the environment (data dir, queue, broker). The round work writes ``<data dir>/round-started``
when it begins (so the test knows the task was taken) and ``<data dir>/round-done-<n>`` when it
ends; ``ROUND_WORK_S`` (env) is how long it takes. With ``ROUND_WORK_FAIL=N`` its first N tries
fail on a full disk (``OSError(ENOSPC)``, what a real full disk raises), each try counted in
``<data dir>/round-tries``. Used by the kill -9 redelivery and the transient-fault tests.
"""

from __future__ import annotations

import errno
import os
import time
from typing import Any

from offchain.logging import configure_logging
from offchain.worker.celery_app import create_app, redeliver_unacked, run_worker, worker_argv
from offchain.worker.handlers import HandlerContext
from offchain.worker.idempotency import ProcessedStore
from offchain.worker.settings import WorkerSettings


def main() -> None:
    configure_logging()
    settings = WorkerSettings()
    seconds = float(os.environ.get("ROUND_WORK_S", "0"))
    failures = int(os.environ.get("ROUND_WORK_FAIL", "0"))
    processed = ProcessedStore(settings.tasks_db)

    def round_work(pool_id: int, round: int, not_before: int) -> dict[str, Any]:
        (settings.data_dir / "round-started").write_text(str(os.getpid()))
        tries = settings.data_dir / "round-tries"
        with tries.open("a") as out:
            out.write("try\n")
        if len(tries.read_text().split()) <= failures:
            raise OSError(errno.ENOSPC, "No space left on device")
        time.sleep(seconds)
        done = settings.data_dir / f"round-done-{pool_id}-{round}"
        with done.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return {"pool": pool_id, "round": round}

    redeliver_unacked(settings, processed)  # what the service does when it starts
    app = create_app(settings, context=HandlerContext(processed=processed, round_work=round_work))
    run_worker(app, worker_argv(settings))


if __name__ == "__main__":
    main()
