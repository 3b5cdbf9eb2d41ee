"""``loranet train``: help, readable refusals, a real two-peer run via the console script."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from offchain.cli.main import app
from trainer.artifacts import adapter_hash
from trainer.collab import create_dht, visible_maddrs
from trainer.config import TrainConfig

runner = CliRunner()


def test_help_explains_both_modes() -> None:
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    for option in ("--peers", "--initial-peer", "--epochs", "--model-path", "--out"):
        assert option in result.output
    assert "train" in runner.invoke(app, ["--help"]).output


def test_join_mode_needs_node_index() -> None:
    result = runner.invoke(app, ["train", "--initial-peer", "/ip4/127.0.0.1/tcp/1/p2p/x"])
    assert result.exit_code == 1
    assert "needs --node-index and --node-count" in result.output
    assert "Traceback" not in result.output


def _run_loranet(args: list[str], timeout: float) -> dict[str, Any]:
    """Run the console script in its own process group; return its JSON summary."""
    exe = shutil.which("loranet", path=str(Path(sys.executable).parent)) or shutil.which("loranet")
    assert exe, "the loranet console script is not installed (pip install -e . missing?)"
    proc = subprocess.Popen(
        [exe, *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    summary: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return summary


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_two_local_peers_train_and_report(tmp_path: Path) -> None:
    summary = _run_loranet(["train", "--peers", "2", "--epochs", "2", "--out", str(tmp_path)], 140)
    assert summary["eval_loss_after"] < summary["eval_loss_before"]
    assert summary["adapter_hash"] == adapter_hash(Path(summary["adapter"]))
    assert [p["epochs"] for p in summary["peers"]] == [2, 2]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_join_mode_trains_against_a_given_peer(tmp_path: Path, swarm_cfg: TrainConfig) -> None:
    # the "given peer" is a DHT in this process; the command trains the only node of the run
    dht = create_dht(swarm_cfg.hivemind)
    try:
        summary = _run_loranet(
            [
                "train",
                "--initial-peer",
                visible_maddrs(dht)[0],
                "--node-index",
                "0",
                "--node-count",
                "1",
                "--epochs",
                "2",
                "--pool",
                "4",
                "--out",
                str(tmp_path),
            ],
            110,
        )
    finally:
        dht.shutdown()
    assert summary["run_id"] == "loranet_pool4_round0"
    assert summary["peers"][0]["epochs"] == 2
    assert summary["eval_loss_after"] < summary["eval_loss_before"]
    assert summary["adapter_hash"] == adapter_hash(tmp_path / "adapter.safetensors")
