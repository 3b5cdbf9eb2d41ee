"""The ``loranet`` console script: help and version."""

from __future__ import annotations

import json
import shutil
import subprocess

from typer.testing import CliRunner

from offchain import __version__
from offchain.cli.main import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "version" in result.output


def test_version_json():
    result = runner.invoke(app, ["version", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["loranet"] == __version__


def test_console_script_installed():
    exe = shutil.which("loranet")
    assert exe, "the loranet console script is not on PATH (pip install -e . missing?)"
    out = subprocess.run([exe, "version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("loranet ")
