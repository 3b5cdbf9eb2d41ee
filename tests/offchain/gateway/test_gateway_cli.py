"""``loranet keys create|list|revoke`` in process, ``loranet serve`` as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from offchain.cli.main import app
from offchain.gateway.auth import KeyStore

LORANET = str(Path(sys.executable).with_name("loranet"))


def _keys(runner: CliRunner, keys_file: Path, *args: str) -> dict | list:
    result = runner.invoke(app, ["keys", *args, "--keys-file", str(keys_file), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    runner = CliRunner()
    keys_file = tmp_path / "keys.json"
    created = _keys(runner, keys_file, "create", "alice")
    assert isinstance(created, dict)
    assert created["key"].startswith("lnk_")
    assert created["key"] not in keys_file.read_text()
    assert KeyStore(keys_file).verify(created["key"]) is not None
    listed = _keys(runner, keys_file, "list")
    assert listed == [
        {
            "id": created["id"],
            "name": "alice",
            "prefix": created["key"][:12],
            "created_at": listed[0]["created_at"],
            "revoked": False,
        }
    ]
    assert created["key"] not in json.dumps(listed)
    assert _keys(runner, keys_file, "revoke", created["id"]) == {
        "id": created["id"],
        "revoked": True,
    }
    assert _keys(runner, keys_file, "list")[0]["revoked"] is True
    missing = runner.invoke(app, ["keys", "revoke", "key_nope", "--keys-file", str(keys_file)])
    assert missing.exit_code == 1
    assert "no API key with id key_nope" in missing.output


def test_keys_default_to_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORANET_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["keys", "create", "bob"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "gateway" / "keys.json").is_file()


def test_serve_refuses_a_bad_config_with_a_sentence(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("limits: {max_tokens: 0}\n")
    result = CliRunner().invoke(app, ["serve", str(config)])
    assert result.exit_code == 1
    assert "invalid gateway config at limits.max_tokens" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path, adapter_file: Path) -> Iterator[tuple[str, str]]:
    """``loranet serve`` in a subprocess with one adapter; (URL, API key)."""
    keys_file = tmp_path / "keys.json"
    key, _ = KeyStore(keys_file).create("cli")
    config = tmp_path / "gateway.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "adapters": [{"name": "arith", "base": "tiny", "path": str(adapter_file)}],
                "auth": {"keys_file": "keys.json"},  # relative to the config file
            }
        )
    )
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LORANET_DATA_DIR": str(tmp_path / "data")}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [LORANET, "serve", str(config), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "loranet serve did not answer within 90 s"
            time.sleep(0.2)
        yield url, key
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert key not in (tmp_path / "serve.log").read_text()  # no key in the logs


def test_loranet_serve(served: tuple[str, str]) -> None:
    url, key = served
    headers = {"Authorization": f"Bearer {key}"}
    models = httpx.get(url + "/v1/models", headers=headers).json()
    assert [m["id"] for m in models["data"]] == ["tiny", "arith"]
    body = {"model": "arith", "messages": [{"role": "user", "content": "1+1="}], "max_tokens": 4}
    response = httpx.post(url + "/v1/chat/completions", json=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["loranet"]["execution_mode"] == "local"
    assert httpx.post(url + "/v1/chat/completions", json=body).status_code == 401
