"""``loranet doctor``: each preflight check on a real chain, and the refusals it reports."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

Run = Callable[..., Result]


def checks_of(result: Result) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


@pytest.fixture
def imported(run_cli: Run, loranet_env: Path, funded_key: Any) -> str:
    run_cli("account", "import", "dev5", input=f"{funded_key.key.hex()}\n", ok=True)
    return str(funded_key.address)


def test_all_green(run_cli: Run, imported: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("LORANET_HIVEMIND_PORT", str(sock.getsockname()[1]))
    result = run_cli("doctor", "--json")
    checks = checks_of(result)
    assert result.exit_code == 0, checks
    assert {c["status"] for c in checks.values()} == {"ok", "skip", "warn"}
    assert checks["node keys"]["status"] == "warn"
    assert checks["stake"]["detail"] == "the deployment has no loranet protocol (token only)"
    assert checks["abi"]["status"] == "warn"  # a hand-written deployment has no digests
    assert "chain id 31337" in checks["chain"]["detail"]
    assert "LoraToken" in checks["contracts"]["detail"]
    human = run_cli("doctor")
    assert "ready" in human.output


def test_rpc_down(run_cli: Run, imported: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = run_cli("--rpc-url", url, "doctor", "--json")
    checks = checks_of(result)
    assert result.exit_code == 1
    assert checks["chain"]["detail"].startswith(f"cannot reach the RPC at {url}")
    assert checks["contracts"]["status"] == "skip"
    assert checks["account"]["status"] == "ok"  # independent checks still run


def test_chain_id_mismatch(run_cli: Run, imported: str, deployment_file: Path) -> None:
    data = json.loads(deployment_file.read_text())
    deployment_file.write_text(json.dumps({**data, "chain_id": 5}))
    checks = checks_of(run_cli("doctor", "--json"))
    assert "serves chain 31337" in checks["chain"]["detail"]


def test_hivemind_port_in_use(run_cli: Run, imported: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        port = sock.getsockname()[1]
        monkeypatch.setenv("LORANET_HIVEMIND_PORT", str(port))
        checks = checks_of(run_cli("doctor", "--json"))
    assert checks["hivemind port"] == {
        "name": "hivemind port",
        "status": "fail",
        "detail": f"port {port} is in use: free it or set LORANET_HIVEMIND_PORT",
    }


def test_no_eth(run_cli: Run, loranet_env: Path) -> None:
    run_cli("account", "new", "empty", ok=True)
    checks = checks_of(run_cli("doctor", "--json"))
    assert checks["gas balance"]["status"] == "fail"
    assert "holds no ETH" in checks["gas balance"]["detail"]
