"""Settings: defaults per network, precedence of flags > env > YAML, readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from offchain.settings import LOCAL_RPC_URL, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LORANET_DATA_DIR", str(tmp_path / "data"))  # no devnet of the machine
    for key in ("NETWORK", "RPC_URL", "DEPLOYMENTS_FILE", "DEPLOYMENTS_DIR", "CONFIRMATIONS"):
        monkeypatch.delenv(f"LORANET_{key}", raising=False)


def test_local_defaults_to_anvil_and_local_json(tmp_path: Path) -> None:
    settings = load_settings(deployments_dir=tmp_path)
    assert settings.network == "local"
    assert settings.resolved_rpc_url == LOCAL_RPC_URL
    assert settings.resolved_deployments_file == tmp_path / "local.json"
    assert settings.resolved_node_keystore_dir == settings.data_dir / "node-keys"


def test_other_network_reads_its_deployment_file(tmp_path: Path) -> None:
    settings = load_settings(
        network="sepolia", rpc_url="https://rpc.example", deployments_dir=tmp_path
    )
    assert settings.resolved_deployments_file == tmp_path / "sepolia.json"
    assert settings.resolved_rpc_url == "https://rpc.example"


def test_other_network_without_rpc_url_is_a_sentence() -> None:
    settings = load_settings(network="sepolia")
    with pytest.raises(SettingsError, match="network 'sepolia' has no RPC URL"):
        _ = settings.resolved_rpc_url


def test_precedence_flag_over_env_over_yaml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "loranet.yaml"
    config.write_text("network: sepolia\nrpc_url: https://yaml.example\nconfirmations: 3\n")
    from_yaml = load_settings(config)
    assert (from_yaml.network, from_yaml.rpc_url, from_yaml.confirmations) == (
        "sepolia",
        "https://yaml.example",
        3,
    )
    monkeypatch.setenv("LORANET_RPC_URL", "https://env.example")
    from_env = load_settings(config)
    assert from_env.rpc_url == "https://env.example"
    assert from_env.confirmations == 3
    from_flag = load_settings(config, rpc_url="https://flag.example", network=None)
    assert from_flag.rpc_url == "https://flag.example"
    assert from_flag.network == "sepolia"  # a None flag does not override


def test_dotenv_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LORANET_CONFIRMATIONS=7\n")
    assert load_settings().confirmations == 7


def test_missing_config_file_is_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"config file .*nope.yaml does not exist"):
        load_settings(tmp_path / "nope.yaml")


def test_invalid_value_is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORANET_CONFIRMATIONS", "zero")
    with pytest.raises(SettingsError, match="invalid setting confirmations"):
        load_settings()


def test_password_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORANET_PASSWORD", "hunter2")
    settings = load_settings()
    assert settings.password_value == "hunter2"
    assert "hunter2" not in repr(settings)
    assert settings.node_password_value == "hunter2"
