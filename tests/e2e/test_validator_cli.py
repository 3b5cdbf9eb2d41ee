"""``loranet validator run`` as a process: starts against the deployment, stops cleanly on
SIGTERM (graceful shutdown), and refuses an account without ``VALIDATOR_ROLE`` in one sentence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from e2e_support import Protocol4

from offchain.keys import Keystore

PASSWORD = "validator test password"


def _env(deployment: Any, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LORANET_NETWORK": "local",
        "LORANET_RPC_URL": deployment.rpc_url,
        "LORANET_DEPLOYMENTS_FILE": str(deployment.file),
        "LORANET_DATA_DIR": str(home),
        "LORANET_KEYSTORE_DIR": str(home / "keys"),
        "LORANET_PASSWORD": PASSWORD,
        "LORANET_VALIDATOR_POLL_INTERVAL_S": "0.2",
    }


def _keystore(home: Path, alias: str, key: str) -> None:
    Keystore(home / "keys", scrypt_n=2**10).import_key(alias, key, PASSWORD)


def _loranet() -> str:
    return str(Path(sys.executable).with_name("loranet"))


def test_validator_runs_and_stops_on_sigterm(
    protocol: Protocol4, deployment: Any, tmp_path: Path
) -> None:
    _keystore(tmp_path, "val", protocol.validators[0].private_key)
    log = tmp_path / "validator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [_loranet(), "validator", "run", "--account", "val", "--pool", str(protocol.pool_id)],
            env=_env(deployment, tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "validator up" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text()
    assert "validator stopped" in text and "reason=SIGTERM" in text
    assert (tmp_path / "validator" / "watcher.db").is_file()  # state kept for a restart


def test_validator_refuses_an_account_without_the_role(deployment: Any, tmp_path: Path) -> None:
    _keystore(tmp_path, "nobody", deployment.accounts[6].private_key)
    done = subprocess.run(
        [_loranet(), "validator", "run", "--account", "nobody"],
        env=_env(deployment, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "does not hold VALIDATOR_ROLE" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout
