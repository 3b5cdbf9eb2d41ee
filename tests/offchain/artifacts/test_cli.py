"""``loranet artifacts put/get`` as a pool creator runs them (S3 on moto, readable errors)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from offchain.artifacts import ArtifactSettings
from offchain.cli.main import app


def _env(tmp_path: Path, s3: ArtifactSettings | None = None, network: str = "local") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LORANET_", "AWS_"))}
    env.update({"LORANET_DATA_DIR": str(tmp_path / "data"), "LORANET_NETWORK": network})
    if s3 is not None:
        env.update(
            {
                "LORANET_ARTIFACTS_STORE": str(s3.store),
                "LORANET_ARTIFACTS_S3_ENDPOINT_URL": str(s3.s3_endpoint_url),
                "LORANET_ARTIFACTS_S3_REGION": "us-east-1",
                "LORANET_ARTIFACTS_S3_ACCESS_KEY_ID": "test",
                "LORANET_ARTIFACTS_S3_SECRET_ACCESS_KEY": "test",
                "LORANET_ARTIFACTS_S3_ADDRESSING_STYLE": "path",
            }
        )
    return env


def test_put_then_get_through_s3(tmp_path: Path, s3_settings: ArtifactSettings) -> None:
    data = tmp_path / "dataset.jsonl"
    data.write_text('{"text": "hello"}\n' * 100)
    env = _env(tmp_path, s3_settings, network="sepolia")
    env["LORANET_RPC_URL"] = "http://127.0.0.1:9"  # unreachable: the network name decides
    put = CliRunner().invoke(app, ["artifacts", "put", str(data), "--json"], env=env)
    assert put.exit_code == 0, put.output
    ref = json.loads(put.stdout)
    assert ref["uri"].startswith("s3://") and ref["store"] == "s3"

    out = tmp_path / "copy.jsonl"
    args = ["artifacts", "get", ref["uri"], "--sha256", ref["sha256"], "--out", str(out)]
    got = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert got.exit_code == 0, got.output
    assert out.read_bytes() == data.read_bytes()

    wrong = CliRunner().invoke(app, ["artifacts", "get", ref["uri"], "--sha256", "0x" + "0" * 64],
                               env=env)  # fmt: skip
    assert wrong.exit_code == 1 and "hashes to" in wrong.output
    assert "Traceback" not in wrong.output


def test_local_files_refused_off_a_local_chain(tmp_path: Path) -> None:
    data = tmp_path / "model.bin"
    data.write_bytes(b"weights")
    env = {**_env(tmp_path, network="base"), "LORANET_RPC_URL": "http://127.0.0.1:9"}
    put = CliRunner().invoke(app, ["artifacts", "put", str(data)], env=env)
    assert put.exit_code == 1 and "LORANET_ARTIFACTS_STORE" in put.output
    get = CliRunner().invoke(
        app, ["artifacts", "get", data.as_uri(), "--sha256", "0x" + "1" * 64], env=env
    )
    assert get.exit_code == 1 and "local chain" in get.output
