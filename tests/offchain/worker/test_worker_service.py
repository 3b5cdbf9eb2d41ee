"""``loranet worker run`` as users run it: a real process on the real protocol, killed with
SIGKILL in the middle of a round and started again, submits its report exactly once."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner
from web3 import Web3

from offchain.artifacts import fetch_verified
from offchain.cli.main import app as cli_app
from offchain.worker.service import service_status
from offchain.worker.settings import WorkerSettings

pytestmark = pytest.mark.usefixtures("deployment", "pool")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def test_killed_mid_round_restarted_reports_once(
    start_worker: Callable[[], subprocess.Popen[bytes]],
    pool: SimpleNamespace,
    data_dir: Path,
    w3: Web3,
    chain: Any,
    wait_until: Callable[..., None],
    worker_env: dict[str, str],
    read_reports: Callable[[], list[Any]],
) -> None:
    # the node serves its artifacts over HTTP (the store of a node on a public chain)
    worker_env["LORANET_ARTIFACTS_STORE"] = "http"
    worker_env["LORANET_ARTIFACTS_SERVE_PORT"] = str(_free_port())
    settings = WorkerSettings(data_dir=data_dir, queue=worker_env["LORANET_QUEUE"])
    round_ = int(pool.pools.currentRound(pool.id))
    _, end, _ = pool.pools.roundWindow(pool.id, round_)

    first = start_worker()
    # Mid-round: trained and the signed report waits in the outbox for the round to end.
    wait_until(
        lambda: service_status(settings)["outbox"] == {"queued": 1},
        timeout=120,
        message="report prepared by the first worker",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    chain.pending_timestamp = int(end)  # the round ends: its submission window opens
    chain.mine()
    second = start_worker()
    wait_until(
        lambda: service_status(settings)["outbox"].get("confirmed") == 1,
        timeout=120,
        message="report confirmed after the restart",
    )
    metrics = _scrape(worker_env["LORANET_METRICS_PORT"])
    assert 'loranet_tx_sent_total{kind="report"} 1.0' in metrics
    assert "loranet_events_dispatched_total" in metrics
    assert "loranet_watcher_cursor_block" in metrics

    # what validators do: fetch the reported URI from the worker's server, verified by hash
    (report,) = read_reports()
    assert report.args["poolId"] == pool.id and report.args["round"] == round_
    assert report.args["node"] == pool.node.address
    uri, digest = report.args["artifactUri"], report.args["adapterHash"]
    port = worker_env["LORANET_ARTIFACTS_SERVE_PORT"]
    assert uri == f"http://127.0.0.1:{port}/artifacts/{digest.removeprefix('0x')}"
    fetched = fetch_verified(uri, digest, data_dir.parent / "validator-cache")
    assert fetched.read_bytes() == (data_dir / "artifacts" / digest.removeprefix("0x")).read_bytes()

    second.send_signal(signal.SIGTERM)  # graceful: finishes its step and exits 0
    assert second.wait(timeout=30) == 0

    status = service_status(settings)
    assert status["cursor"] and status["cursor"][0]["block"] >= report.block_number
    assert status["last_heartbeat"] is not None
    assert isinstance(status["queue_depth"], int)  # tasks left for the next start

    result = CliRunner().invoke(cli_app, ["worker", "status", "--json"], env=worker_env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["outbox"]["confirmed"] == 1


def _training_started(data_dir: Path, pool_id: int, round_: int) -> bool:
    return (data_dir / "rounds" / str(pool_id) / str(round_) / "training").is_file()


def test_sigterm_lets_the_running_round_work_finish(
    start_worker: Callable[[], subprocess.Popen[bytes]],
    pool: SimpleNamespace,
    data_dir: Path,
    wait_until: Callable[..., None],
    worker_env: dict[str, str],
) -> None:
    worker_env["LORANET_DRY_RUN_TRAIN_S"] = "5"
    settings = WorkerSettings(data_dir=data_dir, queue=worker_env["LORANET_QUEUE"])
    round_ = int(pool.pools.currentRound(pool.id))
    proc = start_worker()
    wait_until(lambda: _training_started(data_dir, pool.id, round_), timeout=120)
    proc.send_signal(signal.SIGTERM)  # mid-training
    assert proc.wait(timeout=120) == 0
    # the task ran to its end before the process left: the report waits in the outbox
    assert service_status(settings)["outbox"] == {"queued": 1}
    log = (data_dir / "worker-0.log").read_text()
    assert "abandoned unacknowledged" not in log


def test_sigterm_past_the_grace_abandons_the_task_and_a_restart_redoes_it(
    start_worker: Callable[[], subprocess.Popen[bytes]],
    pool: SimpleNamespace,
    data_dir: Path,
    wait_until: Callable[..., None],
    worker_env: dict[str, str],
) -> None:
    worker_env["LORANET_DRY_RUN_TRAIN_S"] = "300"
    worker_env["LORANET_SHUTDOWN_GRACE_S"] = "1"
    settings = WorkerSettings(data_dir=data_dir, queue=worker_env["LORANET_QUEUE"])
    round_ = int(pool.pools.currentRound(pool.id))
    proc = start_worker()
    wait_until(lambda: _training_started(data_dir, pool.id, round_), timeout=120)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0  # bounded by the grace, not by the task
    assert "abandoned unacknowledged" in (data_dir / "worker-0.log").read_text()
    assert service_status(settings)["outbox"] == {}

    worker_env["LORANET_DRY_RUN_TRAIN_S"] = "0"
    start_worker()
    wait_until(
        lambda: service_status(settings)["outbox"] == {"queued": 1},
        timeout=120,
        message="the abandoned round work done after the restart",
    )
