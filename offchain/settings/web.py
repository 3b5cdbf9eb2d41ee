"""The ``web`` section of the settings tree: the dashboard (``loranet web``).

Environment variables ``LORANET_WEB_<FIELD>``, a ``web:`` section of the YAML config file, or
the command's flags. Its read model and watcher live under the root's ``<data_dir>/web``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """Where the dashboard listens, where its read model lives and how it follows the chain."""

    model_config = SettingsConfigDict(
        env_prefix="LORANET_WEB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    host: str = Field("127.0.0.1", description="Address to listen on (loopback by default).")
    port: int = Field(8090, ge=0, le=65535, description="Port to listen on (0: any free port).")
    db_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the read model; default sqlite:///<data_dir>/web/explorer.db"
        " (e.g. postgresql+psycopg://user@127.0.0.1:5432/loranet for a public explorer).",
    )
    poll_interval_s: float = Field(1.0, gt=0, description="Seconds between two chain polls.")
    confirmations: int = Field(0, ge=0, description="Blocks to wait below the head.")
    page_size: int = Field(2_000, ge=1, description="Blocks per eth_getLogs page.")
    validator_dbs: list[Path] = Field(
        default_factory=list,
        description="validator.db files whose rejection reasons the round pages show "
        "(default: the validator section's validator.db when present).",
    )
    artifact_dirs: list[Path] = Field(
        default_factory=list,
        description="Local artifact folders (<sha256>.safetensors) served at /artifacts/<hash> "
        "for reports whose URI is not http(s).",
    )
    heartbeat_dirs: list[Path] = Field(
        default_factory=list,
        description="Worker data dirs whose heartbeat.json the node pages show.",
    )
