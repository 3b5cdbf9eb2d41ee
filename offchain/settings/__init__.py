"""The one settings tree of loranet.

One :class:`Settings` object per run, built by :func:`load_settings` and passed down; nothing
here is global. Its root holds what every command needs (network, RPC, keys, the one data
dir); each service reads its own nested section:

- ``artifacts`` — :class:`offchain.artifacts.settings.ArtifactSettings` (``LORANET_ARTIFACTS_*``)
- ``worker`` — :class:`offchain.settings.worker.WorkerSettings` (``LORANET_*``)
- ``validator`` — :class:`offchain.settings.validator.ValidatorSettings` (``LORANET_VALIDATOR_*``)
- ``web`` — :class:`offchain.settings.web.WebSettings` (``LORANET_WEB_*``)

Sources, highest priority first: explicit overrides (CLI flags), environment variables, a
``.env`` file in the working directory, an optional YAML file (``--config``, with ``worker:``,
``validator:``, ``web:`` and ``artifacts:`` sections), then the defaults. One data dir: the
sections' state lives under the root's ``data_dir`` (the worker's databases in it, the
validator's in ``<data_dir>/validator`` unless its section names another folder, the
dashboard's in ``<data_dir>/web``), and every section uses the root's ``artifacts``.

Networks: ``local`` is anvil at ``http://127.0.0.1:8545`` with ``deployments/local.json``;
any other network name needs an RPC URL and reads ``deployments/<network>.json`` unless
``deployments_file`` names another file.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)
from pydantic_settings import SettingsError as PydanticSettingsError

from offchain.artifacts.settings import ArtifactSettings
from offchain.errors import LoranetError
from offchain.settings.validator import ValidatorSettings
from offchain.settings.web import WebSettings
from offchain.settings.worker import WorkerSettings

logger = logging.getLogger(__name__)

LOCAL_NETWORK = "local"
LOCAL_RPC_URL = "http://127.0.0.1:8545"
RPC_SCHEMES = ("http", "https")

#: The nested sections: name -> (model, environment prefix, keys bound to the root's).
SECTIONS: dict[str, tuple[type[BaseSettings], str, tuple[str, ...]]] = {
    "artifacts": (ArtifactSettings, "LORANET_ARTIFACTS_", ()),
    "worker": (WorkerSettings, "LORANET_", ("data_dir", "artifacts")),
    "validator": (ValidatorSettings, "LORANET_VALIDATOR_", ("artifacts",)),
    "web": (WebSettings, "LORANET_WEB_", ()),
}


class SettingsError(LoranetError):
    """The settings are incomplete or invalid."""


def project_root() -> Path:
    """The loranet source tree when running from a checkout, else the working directory."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "ape-config.yaml").is_file():
        return checkout
    return Path.cwd()


def ape_accounts_dir() -> Path:
    """Ape's keystore folder (``$APE_DATA_FOLDER/accounts``, default ``~/.ape/accounts``)."""
    data_folder = os.environ.get("APE_DATA_FOLDER")
    base = Path(data_folder) if data_folder else Path.home() / ".ape"
    return base / "accounts"


def _section(model: type[BaseSettings], value: Any) -> Any:
    """A YAML/dict section: its values, under the section's environment variables set."""
    if isinstance(value, dict):
        from_env = model()
        return model(**{**value, **from_env.model_dump(exclude_unset=True)})
    return value


def _section_field(what: str, name: str) -> Any:
    """A nested section: built from its environment variables (by ``Settings._sections``)
    over its YAML/dict values, so that a bad variable is reported at its place in the tree."""
    prefix = SECTIONS[name][1]
    return Field(
        default_factory=dict,
        validate_default=True,
        description=f"{what} ({prefix}*, or the '{name}:' YAML section).",
    )


class Settings(BaseSettings):
    """Everything a loranet command needs: the chain, the keys, and each service's section."""

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
    artifacts: ArtifactSettings = _section_field("Artifact stores", "artifacts")
    worker: WorkerSettings = _section_field("The worker service", "worker")
    validator: ValidatorSettings = _section_field("The validator service", "validator")
    web: WebSettings = _section_field("The dashboard", "web")

    @field_validator("artifacts", "worker", "validator", "web", mode="before")
    @classmethod
    def _sections(cls, value: Any, info: Any) -> Any:
        return _section(SECTIONS[info.field_name][0], value)

    @model_validator(mode="after")
    def _one_data_dir(self) -> Settings:
        """Bind the sections to the root's data dir and artifact settings (one of each)."""
        self.worker = self.worker.model_copy(
            update={"data_dir": self.data_dir, "artifacts": self.artifacts}
        )
        self.validator = self.validator.model_copy(
            update={
                "data_dir": self.validator_dir,
                "artifacts": self.artifacts,
            }
        )
        return self

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

    @field_validator("rpc_url")
    @classmethod
    def _check_rpc_url(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else check_rpc_url(value)

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
            return self.devnet_rpc_url or LOCAL_RPC_URL
        raise SettingsError(
            f"network '{self.network}' has no RPC URL: set LORANET_RPC_URL, pass --rpc-url "
            "or put rpc_url in the config file."
        )

    @property
    def devnet_rpc_url(self) -> str | None:
        """The RPC URL of the devnet that `loranet devnet up` started and recorded (any port),
        while its process lives; later commands on the local network use it."""
        path = self.data_dir / "devnet" / "anvil.json"
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
            pid, url = int(info["pid"]), str(info["rpc_url"])
            os.kill(pid, 0)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return url

    @property
    def resolved_deployments_file(self) -> Path:
        return self.deployments_file or self.deployments_dir / f"{self.network}.json"

    @property
    def validator_dir(self) -> Path:
        """The validator's state: its section's ``data_dir``, else ``<data_dir>/validator``."""
        return self.validator.data_dir or self.data_dir / "validator"

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


def check_rpc_url(value: str) -> str:
    """An ``http(s)://host[:port][/path]`` URL, or a ``ValueError`` saying what to write."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"'{value}' is not a URL (e.g. {LOCAL_RPC_URL})") from None
    if parts.scheme not in RPC_SCHEMES:
        bare = "://" not in text
        looks_like_host = ":" in text or "." in text or text == "localhost"
        if bare and looks_like_host and urlsplit(f"http://{text}").hostname:
            raise ValueError(f"'{value}' has no scheme: write http://{text}")
        raise ValueError(f"'{value}' is not an http(s) URL (e.g. {LOCAL_RPC_URL})")
    if not parts.hostname or any(ch.isspace() for ch in text):
        raise ValueError(f"'{value}' is not a URL with a host (e.g. {LOCAL_RPC_URL})")
    return text


def read_config_file(path: Path) -> dict[str, Any]:
    """The YAML config file as a mapping of known settings.

    Raises:
        SettingsError: missing, unreadable, not YAML, not a mapping, or an unknown key.
    """
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise SettingsError(f"config file {path} {what}.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise SettingsError(f"cannot read the config file {path}: {err}.") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SettingsError(f"the config file {path} is not valid YAML{where}.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(
            f"the config file {path} must be a mapping of settings (key: value), "
            f"not {'a list' if isinstance(data, list) else 'a single value'}."
        )
    _check_keys(data, set(Settings.model_fields), path, "")
    for name, (model, _, bound) in SECTIONS.items():
        section = data.get(name)
        if section is None:
            continue
        if not isinstance(section, dict):
            raise SettingsError(
                f"'{name}' in the config file {path} must be a section (a mapping of its "
                "settings), not a single value."
            )
        for key in bound:
            if key in section:
                raise SettingsError(
                    f"'{name}.{key}' in the config file {path}: every section uses the "
                    f"top-level '{key}' (one per machine); set it there."
                )
        _check_keys(section, set(model.model_fields) - set(bound), path, f"{name}.")
    return data


def _check_keys(data: dict[Any, Any], known: set[str], path: Path, prefix: str) -> None:
    for key in data:
        if not isinstance(key, str) or key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise SettingsError(f"unknown setting '{prefix}{key}' in the config file {path}{hint}.")


def env_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """The environment variable of a setting, from its location in the tree."""
    parts = [str(part) for part in loc]
    if len(parts) > 1 and parts[0] in SECTIONS:
        return SECTIONS[parts[0]][1] + "_".join(parts[1:]).upper()
    return "LORANET_" + "_".join(parts).upper()


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from every source; ``overrides`` (CLI flags) win, ``None`` ones skip.

    Raises:
        SettingsError: the config file is missing, not a YAML mapping of known settings, or a
            value is invalid.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    cls: type[Settings] = Settings
    if config_file is not None:
        read_config_file(config_file)

        class _FromFile(Settings):
            model_config = SettingsConfigDict(**{**Settings.model_config, "yaml_file": config_file})

        cls = _FromFile
    try:
        settings = cls(**given)
    except PydanticSettingsError as err:  # a value that does not parse (e.g. not JSON)
        found = re.search(r'field "([^"]+)"', str(err))
        name = found.group(1) if found else "settings"
        raise SettingsError(
            f"invalid setting {name} ({env_name([name])}): the value does not parse "
            "(a section takes a JSON object, or set its LORANET_<SECTION>_<KEY> variables)."
        ) from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ").rstrip(".")
        raise SettingsError(f"invalid setting {where}: {message}.") from None
    logger.debug(
        "settings network=%s rpc=%s deployments=%s",
        settings.network,
        settings.rpc_url,
        settings.resolved_deployments_file,
    )
    return settings
