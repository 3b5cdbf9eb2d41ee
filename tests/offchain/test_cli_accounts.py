"""``loranet account`` / ``node keygen`` through the CLI, and the root error handling."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from offchain.devnet import dev_account

Run = Callable[..., Result]
Refusal = Callable[[Result, str], None]


def test_account_new_list_json(run_cli: Run, loranet_env: Path) -> None:
    created = json.loads(run_cli("account", "new", "alice", "--json", ok=True).stdout)
    listed = json.loads(run_cli("--json", "account", "list", ok=True).stdout)
    assert listed == [created]
    assert created["alias"] == "alice" and created["address"].startswith("0x")


def test_account_new_prompts_for_password(
    run_cli: Run, loranet_env: Path, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    monkeypatch.delenv("LORANET_PASSWORD")
    result = run_cli("account", "new", "bob", input=f"{password}\n{password}\n", ok=True)
    assert "created account bob" in result.output
    quiet = run_cli("account", "new", "carol", "--json", input=f"{password}\n{password}\n")
    assert json.loads(quiet.stdout)["alias"] == "carol"  # prompts went to stderr
    monkeypatch.setenv("LORANET_PASSWORD", password)
    result = run_cli("--json", "doctor", "--account", "bob")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["account"]["status"] == "ok"


def test_account_import_never_echoes_the_key(
    run_cli: Run, loranet_env: Path, tmp_path: Path
) -> None:
    key = dev_account(6).key.hex()
    result = run_cli("account", "import", "dev6", input=f"{key}\n", ok=True)
    assert dev_account(6).address in result.output
    assert key.removeprefix("0x") not in result.output
    stored = (tmp_path / "keystore" / "dev6.json").read_text()
    assert key.removeprefix("0x") not in stored


def test_wrong_password_is_one_sentence(
    run_cli: Run, loranet_env: Path, monkeypatch: pytest.MonkeyPatch, assert_refusal: Refusal
) -> None:
    run_cli("account", "new", "alice", ok=True)
    monkeypatch.setenv("LORANET_PASSWORD", "not it")
    result = run_cli("--json", "doctor", "--account", "alice")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["account"]["status"] == "fail"
    assert checks["account"]["detail"].startswith("wrong password for account 'alice'")
    assert result.exit_code == 1


def test_unknown_account_is_one_sentence(
    run_cli: Run, loranet_env: Path, assert_refusal: Refusal
) -> None:
    run_cli("account", "new", "alice", ok=True)
    result = run_cli("devnet", "fund", "mallory")
    assert_refusal(result, "unknown account 'mallory'")


def test_duplicate_alias_is_one_sentence(
    run_cli: Run, loranet_env: Path, assert_refusal: Refusal
) -> None:
    run_cli("account", "new", "alice", ok=True)
    assert_refusal(run_cli("account", "new", "alice"), "account 'alice' already exists")


def test_node_keys_live_apart(run_cli: Run, loranet_env: Path) -> None:
    node = json.loads(run_cli("node", "keygen", "gpu-0", "--json", ok=True).stdout)
    assert Path(node["path"]).parent == loranet_env / "node-keys"
    assert json.loads(run_cli("account", "list", "--json", ok=True).stdout) == []
    assert json.loads(run_cli("node", "keys", "--json", ok=True).stdout) == [node]


def test_bad_config_file_is_one_sentence(
    run_cli: Run, loranet_env: Path, assert_refusal: Refusal
) -> None:
    result = run_cli("--config", "missing.yaml", "account", "list")
    assert_refusal(result, "config file missing.yaml does not exist.")


def test_ape_made_account_works_in_loranet(
    run_cli: Run,
    loranet_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    password: str,
) -> None:
    """An account made by Ape's own importer (``ape accounts import``) is usable by loranet."""
    from ape import accounts as ape_accounts
    from ape import config
    from ape_accounts import import_account_from_private_key

    monkeypatch.setattr(config, "DATA_FOLDER", tmp_path / "ape")
    (tmp_path / "ape" / "accounts").mkdir(parents=True)
    # Ape caches each container's folder on first use (cached_property): point it here too,
    # or an earlier test's access makes the import write into the real ~/.ape/accounts.
    container = ape_accounts.containers["accounts"]
    monkeypatch.setitem(container.__dict__, "data_folder", tmp_path / "ape" / "accounts")
    made = import_account_from_private_key("from-ape", password, dev_account(2).key.hex())
    monkeypatch.setenv("LORANET_KEYSTORE_DIR", str(tmp_path / "ape" / "accounts"))
    listed = json.loads(run_cli("account", "list", "--json", ok=True).stdout)
    assert [(a["alias"], a["address"]) for a in listed] == [("from-ape", made.address)]
    checks = {c["name"]: c for c in json.loads(run_cli("doctor", "--json").stdout)["checks"]}
    assert checks["account"]["detail"] == f"from-ape ({made.address}) unlocks"
