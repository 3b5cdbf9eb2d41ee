"""``loranet train``: help, readable refusals, a real two-peer run via the console script."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offchain.cli.main import app
from trainer.artifacts import adapter_hash

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


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_two_local_peers_train_and_report(tmp_path: Path) -> None:
    exe = shutil.which("loranet", path=str(Path(sys.executable).parent)) or shutil.which("loranet")
    assert exe, "the loranet console script is not installed (pip install -e . missing?)"
    cmd = [exe, "train", "--peers", "2", "--epochs", "2", "--out", str(tmp_path), "--json"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=140)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["eval_loss_after"] < summary["eval_loss_before"]
    assert summary["adapter_hash"] == adapter_hash(Path(summary["adapter"]))
    assert [p["epochs"] for p in summary["peers"]] == [2, 2]
