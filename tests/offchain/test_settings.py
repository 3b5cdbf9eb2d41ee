"""Settings: defaults per network, precedence of flags > env > YAML, readable errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


# -- the one tree: nested sections, one data dir ---------------------------------------------


@pytest.fixture
def no_section_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("QUEUE", "BROKER_URL", "VALIDATOR_EVAL_EXAMPLES", "VALIDATOR_DATA_DIR"):
        monkeypatch.delenv(f"LORANET_{key}", raising=False)


@pytest.mark.usefixtures("no_section_env")
def test_sections_come_from_yaml_and_env_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "loranet.yaml"
    config.write_text(
        "worker:\n  queue: from-yaml\n  round_work_retries: 2\n"
        "validator:\n  eval_examples: 64\n  finalize_jitter_s: 3\n"
        "artifacts:\n  serve_port: 8700\n"
        "web:\n  port: 8191\n"
    )
    settings = load_settings(config)
    assert (settings.worker.queue, settings.worker.round_work_retries) == ("from-yaml", 2)
    assert (settings.validator.eval_examples, settings.validator.finalize_jitter_s) == (64, 3)
    assert settings.artifacts.serve_port == 8700
    assert settings.web.port == 8191
    monkeypatch.setenv("LORANET_QUEUE", "from-env")
    monkeypatch.setenv("LORANET_VALIDATOR_EVAL_EXAMPLES", "32")
    settings = load_settings(config)
    assert settings.worker.queue == "from-env"
    assert settings.worker.round_work_retries == 2  # the YAML value the env did not set
    assert settings.validator.eval_examples == 32


@pytest.mark.usefixtures("no_section_env")
def test_one_data_dir_and_one_artifacts_section(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path / "machine")
    assert settings.worker.data_dir == tmp_path / "machine"
    assert settings.worker.outbox_db == tmp_path / "machine" / "outbox.db"
    assert settings.validator.data_dir == tmp_path / "machine" / "validator"
    assert settings.worker.artifacts is settings.artifacts
    assert settings.validator.artifacts is settings.artifacts
    monkeypatch.delenv("LORANET_DATA_DIR")  # else the environment's wins over the YAML's
    config = tmp_path / "loranet.yaml"
    config.write_text(f"data_dir: {tmp_path / 'yaml'}\nvalidator:\n  data_dir: /srv/v\n")
    settings = load_settings(config)
    assert settings.worker.data_dir == tmp_path / "yaml"
    assert settings.validator.data_dir == Path("/srv/v")  # a section may name its own folder


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("worker:\n  queu: x\n", r"unknown setting 'worker.queu' .*did you mean 'worker.queue'"),
        ("validator:\n  min_cosin: 0.9\n", r"unknown setting 'validator.min_cosin'"),
        ("web:\n  prot: 1\n", r"unknown setting 'web.prot' .*did you mean 'web.port'"),
        ("worker: fast\n", r"'worker' in the config file .* must be a section"),
        ("worker:\n  data_dir: /x\n", r"'worker.data_dir' .* top-level 'data_dir'"),
        ("validator:\n  artifacts: {}\n", r"'validator.artifacts' .* top-level 'artifacts'"),
        ("worker:\n  round_work_retries: -1\n", r"invalid setting worker.round_work_retries"),
    ],
)
def test_bad_sections_are_sentences(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "loranet.yaml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=message):
        load_settings(config)


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("LORANET_VALIDATOR_EVAL_EXAMPLES", r"invalid setting validator.eval_examples: "),
        ("LORANET_ROUND_WORK_RETRIES", r"invalid setting worker.round_work_retries: "),
    ],
)
def test_bad_section_variable_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, message: str
) -> None:
    monkeypatch.setenv(variable, "-5")
    with pytest.raises(SettingsError, match=message):
        load_settings()


@pytest.mark.usefixtures("no_section_env")
def test_services_read_their_section(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, run_cli: Any
) -> None:
    """`loranet worker status` and `validator status` use the tree's sections and data dir."""
    monkeypatch.delenv("LORANET_DATA_DIR")
    config = tmp_path / "loranet.yaml"
    config.write_text(f"data_dir: {tmp_path / 'm'}\nvalidator:\n  data_dir: {tmp_path / 'v'}\n")
    worker = json.loads(
        run_cli("--config", str(config), "worker", "status", "--json", ok=True).stdout
    )
    assert worker["data_dir"] == str(tmp_path / "m")
    validator = json.loads(
        run_cli("--config", str(config), "validator", "status", "--json", ok=True).stdout
    )
    assert validator["data_dir"] == str(tmp_path / "v")
