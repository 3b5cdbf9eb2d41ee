"""``loranet worker run`` as users run it: a real process on the real protocol, killed with
SIGKILL in the middle of a round and started again, submits its report exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner
from web3 import Web3

from offchain.cli.main import app as cli_app
from offchain.keys import Keystore
from offchain.worker.service import service_status
from offchain.worker.settings import WorkerSettings

pytestmark = pytest.mark.usefixtures("deployment", "pool")

PASSWORD = "worker-test-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


@pytest.fixture
def worker_env(deployment: Any, pool: SimpleNamespace, data_dir: Path) -> dict[str, str]:
    """Environment of a node operator: keystores, deployment, RPC, data dir."""
    keys, node_keys = data_dir.parent / "keys", data_dir.parent / "node-keys"
    Keystore(keys, scrypt_n=16).import_key("provider", pool.provider.private_key, PASSWORD)
    Keystore(node_keys, kind="node key", scrypt_n=16).import_key(
        "node", "0x" + bytes(pool.node.key).hex(), PASSWORD
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LORANET_")}
    env.update(
        {
            "LORANET_NETWORK": "local",
            "LORANET_RPC_URL": deployment.rpc_url,
            "LORANET_DEPLOYMENTS_FILE": str(deployment.file),
            "LORANET_DATA_DIR": str(data_dir),
            "LORANET_KEYSTORE_DIR": str(keys),
            "LORANET_NODE_KEYSTORE_DIR": str(node_keys),
            "LORANET_PASSWORD": PASSWORD,
            "LORANET_NODE_PASSWORD": PASSWORD,
            "LORANET_QUEUE": f"loranet-test-{uuid.uuid4().hex[:8]}",
            "LORANET_METRICS_PORT": str(_free_port()),
            "LORANET_WATCH_POLL_INTERVAL_S": "0.2",
            "LORANET_HEARTBEAT_INTERVAL_S": "0.5",
        }
    )
    return env


@pytest.fixture
def start_worker(worker_env: dict[str, str], data_dir: Path) -> Iterator[Callable[[], Any]]:
    """Start ``loranet worker run`` (dry-run trainer) as a process; all are killed at the end."""
    procs: list[subprocess.Popen[bytes]] = []

    def _start() -> subprocess.Popen[bytes]:
        log = (data_dir / f"worker-{len(procs)}.log").open("wb")
        cmd = [str(Path(sys.executable).parent / "loranet"), "worker", "run"]
        cmd += ["--node", "node", "--account", "provider", "--trainer", "dry-run"]
        proc = subprocess.Popen(cmd, env=worker_env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


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

    second.send_signal(signal.SIGTERM)  # graceful: finishes its step and exits 0
    assert second.wait(timeout=30) == 0

    (report,) = read_reports()
    assert report.args["poolId"] == pool.id and report.args["round"] == round_
    assert report.args["node"] == pool.node.address

    status = service_status(settings)
    assert status["cursor"] and status["cursor"][0]["block"] >= report.block_number
    assert status["last_heartbeat"] is not None
    assert isinstance(status["queue_depth"], int)  # tasks left for the next start

    result = CliRunner().invoke(cli_app, ["worker", "status", "--json"], env=worker_env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["outbox"]["confirmed"] == 1
