"""``loranet doctor`` on the whole protocol: ABIs, stake and registration checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import Result

Run = Callable[..., Result]


def checks_of(result: Result) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_all_green_once_registered(run_cli: Run, provider: LocalAccount) -> None:
    before = checks_of(run_cli("doctor", "--json"))
    assert before["stake"]["status"] == "warn"
    assert before["stake"]["detail"].startswith("not registered yet; 100,000 LORA available")
    assert before["node keys"]["status"] == "warn"
    run_cli("provider", "register", "--stake", "2000", "--yes", ok=True)
    run_cli("node", "keygen", "gpu-0", ok=True)
    result = run_cli("doctor", "--json")
    checks = checks_of(result)
    assert result.exit_code == 0, checks
    assert {c["status"] for c in checks.values()} == {"ok"}
    assert checks["abi"]["detail"] == "local ABIs match the deployment (9 contracts)"
    assert checks["node keys"]["detail"] == "1 unlock: gpu-0"
    assert checks["stake"]["detail"].startswith("registered, stake 2,000 LORA (minimum 1,000 LORA")


def test_stale_abi_is_reported(run_cli: Run, provider: LocalAccount, deployment_file: Path) -> None:
    data = json.loads(deployment_file.read_text())
    data["abi_digests"]["NetworkHub"] = "00" * 32
    deployment_file.write_text(json.dumps(data))
    checks = checks_of(run_cli("doctor", "--json"))
    assert checks["abi"]["status"] == "fail"
    assert checks["abi"]["detail"].startswith("the local ABIs of ")
    assert "NetworkHub" in checks["abi"]["detail"]


def test_poor_account_cannot_register(run_cli: Run, loranet_env: Path) -> None:
    run_cli("account", "new", "poor", ok=True)
    result = run_cli("doctor", "--json")
    assert result.exit_code == 1
    stake = checks_of(result)["stake"]
    assert stake["status"] == "fail"
    assert stake["detail"] == (
        "not registered, and 0 LORA is below the base stake 1,000 LORA needed to register"
    )


def test_node_key_with_another_password(
    run_cli: Run, provider: LocalAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LORANET_NODE_PASSWORD", "node secret")
    run_cli("node", "keygen", "gpu-0", ok=True)
    monkeypatch.setenv("LORANET_NODE_PASSWORD", "forgotten")
    checks = checks_of(run_cli("doctor", "--json"))
    assert checks["node keys"] == {
        "name": "node keys",
        "status": "fail",
        "detail": "wrong password for node key(s) gpu-0",
    }
    assert checks["account"]["status"] == "ok"  # the account uses LORANET_PASSWORD
