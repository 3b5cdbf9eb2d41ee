"""``loranet web`` as a user starts it: one process on 127.0.0.1, the URL it prints answers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from offchain.settings import Settings

LORANET = [sys.executable, "-c", "from offchain.cli.main import app; app()"]


def _env(settings: Settings, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LORANET_NETWORK": "local",
        "LORANET_RPC_URL": settings.resolved_rpc_url,
        "LORANET_DEPLOYMENTS_FILE": str(settings.resolved_deployments_file),
        "LORANET_DATA_DIR": str(data_dir),
    }


def test_loranet_web_serves_and_prints_its_url(
    chain_settings: Settings, tmp_path: Path, deployment: Any
) -> None:
    proc = subprocess.Popen(
        [*LORANET, "web", "--port", "0", "--api-only"],
        env=_env(chain_settings, tmp_path),
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        line = ""
        deadline = time.monotonic() + 120
        while "dashboard on" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "loranet web exited early"
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        url = match.group(0)
        for _ in range(240):
            status = httpx.get(url + "api/status", timeout=10).json()
            if status.get("meta", {}).get("cursor"):
                break
            time.sleep(0.5)
        assert status["chain_id"] == deployment.chain_id
        assert status["meta"]["cursor"] >= deployment.data["block"]
        assert status["contracts"]["WorkLedger"] == deployment.contracts["WorkLedger"]
        assert httpx.get(url + "api/overview", timeout=10).json()["totals"]["pools"] == 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_loranet_web_refuses_in_one_sentence_without_a_chain(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LORANET_NETWORK": "local",
        "LORANET_RPC_URL": "http://127.0.0.1:9",
        "LORANET_DEPLOYMENTS_FILE": str(tmp_path / "none.json"),
        "LORANET_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [*LORANET, "web", "--api-only"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
