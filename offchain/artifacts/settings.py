"""Settings of the artifact stores: the ``artifacts`` section of the settings.

Environment variables ``LORANET_ARTIFACTS_<FIELD>`` (e.g. ``LORANET_ARTIFACTS_STORE``), or an
``artifacts:`` section in the YAML config file. S3 credentials fall back to the standard AWS
chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_PROFILE``, instance roles).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from offchain.artifacts.limits import FetchLimits


class ArtifactSettings(BaseSettings):
    """Where this machine puts its artifacts, how it serves them, how it fetches others'."""

    model_config = SettingsConfigDict(
        env_prefix="LORANET_ARTIFACTS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    store: str | None = Field(
        None,
        description=(
            "Where artifacts are put: 'http' (this machine serves them), "
            "'s3://bucket/prefix' (any S3-compatible store), 'local' or a folder/file:// URI "
            "(local chains only). Default: 'local' on a local chain, required elsewhere."
        ),
    )
    dir: Path | None = Field(
        None, description="Folder of this machine's artifacts; default <data_dir>/artifacts."
    )
    cache_dir: Path | None = Field(
        None, description="Cache of fetched artifacts, by hash; default <data_dir>/artifact-cache."
    )
    serve_host: str = Field("127.0.0.1", description="Bind address of the artifact server.")
    serve_port: int = Field(8600, ge=0, le=65535, description="Port of the artifact server.")
    public_url: str | None = Field(
        None,
        description=(
            "Base URL others read this machine's artifacts from: with 'http', the server's "
            "public address (default http://<serve_host>:<serve_port>); with s3://, an optional "
            "public HTTP base of the bucket prefix (e.g. an R2 public URL)."
        ),
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint (R2, MinIO, moto); default: AWS for the region."
    )
    s3_region: str | None = Field(None, description="S3 region; default: the AWS chain's.")
    s3_access_key_id: str | None = Field(None, description="S3 key id; default: the AWS chain.")
    s3_secret_access_key: SecretStr | None = Field(
        None, description="S3 secret key; default: the AWS chain."
    )
    s3_addressing_style: str = Field(
        "auto", description="S3 addressing style: auto, path (MinIO, moto) or virtual."
    )
    max_bytes: int = Field(
        8 * 1024**3, gt=0, description="Largest artifact fetched, in bytes (base models too)."
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="Connect timeout of one fetch.")
    read_timeout_s: float = Field(30.0, gt=0, description="Longest wait for the next bytes.")
    deadline_s: float = Field(
        900.0, gt=0, description="Overall deadline of one fetch, all attempts together."
    )
    attempts: int = Field(4, ge=1, description="Attempts of a fetch that fails to reach its URI.")
    backoff_s: float = Field(0.5, ge=0, description="First pause between attempts (doubles).")
    backoff_max_s: float = Field(8.0, ge=0, description="Longest pause between attempts.")

    def limits(self) -> FetchLimits:
        return FetchLimits(
            max_bytes=self.max_bytes,
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
            deadline_s=self.deadline_s,
            attempts=self.attempts,
            backoff_s=self.backoff_s,
            backoff_max_s=self.backoff_max_s,
        )

    def resolved_dir(self, data_dir: Path) -> Path:
        return self.dir or Path(data_dir) / "artifacts"

    def resolved_cache_dir(self, data_dir: Path) -> Path:
        return self.cache_dir or Path(data_dir) / "artifact-cache"

    @property
    def serve_url(self) -> str:
        """The public base URL of this machine's artifact server."""
        host = self.serve_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return (self.public_url or f"http://{host}:{self.serve_port}").rstrip("/")
