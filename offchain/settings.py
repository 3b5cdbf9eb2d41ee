"""The one typed settings object of loranet.

Sources, highest priority first: explicit overrides (CLI flags), environment variables
``LORANET_*``, a ``.env`` file in the working directory, an optional YAML file (``--config``),
then the defaults below. Nothing here is global: the CLI builds one ``Settings`` per run and
passes it down.

Networks: ``local`` is anvil at ``http://127.0.0.1:8545`` with ``deployments/local.json``;
any other network name needs an RPC URL and reads ``deployments/<network>.json`` unless
``deployments_file`` names another file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from offchain.artifacts.settings import ArtifactSettings
from offchain.errors import LoranetError

logger = logging.getLogger(__name__)

LOCAL_NETWORK = "local"
LOCAL_RPC_URL = "http://127.0.0.1:8545"


class SettingsError(LoranetError):
    """The settings are incomplete or invalid."""


def project_root() -> Path:
    """The loranet source tree when running from a checkout, else the working directory."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "ape-config.yaml").is_file():
        return checkout
    return Path.cwd()


def ape_accounts_dir() -> Path:
    """Ape's keystore folder (``$APE_DATA_FOLDER/accounts``, default ``~/.ape/accounts``)."""
    data_folder = os.environ.get("APE_DATA_FOLDER")
    base = Path(data_folder) if data_folder else Path.home() / ".ape"
    return base / "accounts"


class Settings(BaseSettings):
    """Everything a loranet command needs to reach the chain and the keys."""

    model_config = SettingsConfigDict(
        env_prefix="LORANET_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        yaml_file=None,
    )

    network: str = Field(LOCAL_NETWORK, description="Network name: 'local' or e.g. 'sepolia'.")
    rpc_url: str | None = Field(None, description="JSON-RPC URL; 'local' defaults to anvil.")
    deployments_dir: Path = Field(
        default_factory=lambda: project_root() / "deployments",
        description="Folder of <network>.json deployment files written by `ape run deploy`.",
    )
    deployments_file: Path | None = Field(
        None, description="Deployment file; default <deployments_dir>/<network>.json."
    )
    data_dir: Path = Field(
        default_factory=lambda: Path.home() / ".loranet",
        description="Local state: devnet pid file and logs, node keys, service databases.",
    )
    keystore_dir: Path = Field(
        default_factory=ape_accounts_dir,
        description="Provider keystores (<alias>.json); Ape's folder, so `ape accounts` sees them.",
    )
    node_keystore_dir: Path | None = Field(
        None, description="Node keystores; default <data_dir>/node-keys."
    )
    account: str | None = Field(None, description="Default provider account alias.")
    password: SecretStr | None = Field(
        None, description="Keystore password (LORANET_PASSWORD); prompted when unset."
    )
    node_password: SecretStr | None = Field(
        None, description="Node keystore password (LORANET_NODE_PASSWORD); default: password."
    )
    keystore_scrypt_n: int = Field(
        2**18, ge=2**4, description="scrypt work factor of new keystores (eth-account default)."
    )
    confirmations: int = Field(1, ge=1, description="Blocks to wait for after a receipt.")
    rpc_timeout_s: float = Field(10.0, gt=0, description="Timeout of one JSON-RPC request.")
    rpc_retries: int = Field(3, ge=0, description="Retries of a transient RPC failure.")
    tx_timeout_s: float = Field(120.0, gt=0, description="How long to wait for a receipt.")
    poll_interval_s: float = Field(0.2, gt=0, description="Receipt polling interval.")
    priority_fee_gwei: float = Field(1.0, ge=0, description="EIP-1559 tip, in gwei.")
    gas_multiplier: float = Field(1.2, ge=1.0, description="Headroom over the gas estimate.")
    hivemind_port: int = Field(31337, ge=1, le=65535, description="Hivemind listening port.")
    hivemind_host_maddrs: list[str] | None = Field(
        None,
        description="Hivemind listen multiaddrs of this machine (JSON list), e.g. "
        '["/ip4/0.0.0.0/tcp/31337"]; default: the train config\'s (127.0.0.1 only).',
    )
    hivemind_announce_maddrs: list[str] | None = Field(
        None,
        description="Multiaddrs other hosts dial (JSON list): a host behind NAT announces its "
        "public address here.",
    )
    devnet_port: int = Field(8545, ge=1, le=65535, description="Port of `loranet devnet up`.")
    artifacts: ArtifactSettings = Field(
        default_factory=ArtifactSettings,
        description="Artifact stores (LORANET_ARTIFACTS_*, or an 'artifacts:' YAML section).",
    )

    @field_validator("artifacts", mode="before")
    @classmethod
    def _artifacts_section(cls, value: Any) -> Any:
        """A YAML/dict section: its values, under the LORANET_ARTIFACTS_* variables set."""
        if isinstance(value, dict):
            from_env = ArtifactSettings()
            return ArtifactSettings(**{**value, **from_env.model_dump(exclude_unset=True)})
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            YamlConfigSettingsSource(settings_cls),
            file_secret_settings,
        )

    # -- derived values --------------------------------------------------------------------

    @property
    def is_local(self) -> bool:
        return self.network == LOCAL_NETWORK

    @property
    def resolved_rpc_url(self) -> str:
        """The RPC URL to use; raises a readable error when a non-local network has none."""
        if self.rpc_url:
            return self.rpc_url
        if self.is_local:
            return LOCAL_RPC_URL
        raise SettingsError(
            f"network '{self.network}' has no RPC URL: set LORANET_RPC_URL, pass --rpc-url "
            "or put rpc_url in the config file."
        )

    @property
    def resolved_deployments_file(self) -> Path:
        return self.deployments_file or self.deployments_dir / f"{self.network}.json"

    @property
    def resolved_node_keystore_dir(self) -> Path:
        return self.node_keystore_dir or self.data_dir / "node-keys"

    @property
    def password_value(self) -> str | None:
        return self.password.get_secret_value() if self.password is not None else None

    @property
    def node_password_value(self) -> str | None:
        if self.node_password is not None:
            return self.node_password.get_secret_value()
        return self.password_value


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from every source; ``overrides`` (CLI flags) win, ``None`` ones skip.

    Raises:
        SettingsError: the config file is missing or a value is invalid.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    cls: type[Settings] = Settings
    if config_file is not None:
        if not config_file.is_file():
            raise SettingsError(f"config file {config_file} does not exist.")

        class _FromFile(Settings):
            model_config = SettingsConfigDict(**{**Settings.model_config, "yaml_file": config_file})

        cls = _FromFile
    try:
        settings = cls(**given)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise SettingsError(f"invalid setting {where}: {first['msg']}.") from None
    logger.debug(
        "settings network=%s rpc=%s deployments=%s",
        settings.network,
        settings.rpc_url,
        settings.resolved_deployments_file,
    )
    return settings
