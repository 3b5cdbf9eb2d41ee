"""The gateway's YAML config as pydantic models (see ``docs/gateway.md`` for the reference).

A config names the base models (trainer :class:`~trainer.config.ModelConfig`), the adapters
(by file path, or by hash in an artifact store), the generators in fallback order, the
reward multiplier of each execution mode, the limits, rate limiting and authentication.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from offchain.gateway.errors import GatewayConfigError
from trainer.config import ModelConfig

logger = logging.getLogger(__name__)

ExecutionMode = Literal["local", "custom", "api"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$"
DEFAULT_MULTIPLIERS: dict[ExecutionMode, float] = {"local": 1.5, "custom": 1.0, "api": 0.5}
# The WorkLedger's uint8 executionMode (IDomainRegistry.ExecutionMode: LOCAL_GPU, CUSTOM,
# REMOTE_API) of each mode, for reporting inference work on chain.
EXECUTION_MODE_IDS: dict[ExecutionMode, int] = {"local": 0, "custom": 1, "api": 2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AdapterEntry(_Strict):
    """A LoRA adapter served under ``name`` on top of the base model ``base``.

    Give either ``path`` (a canonical safetensors file) or ``hash`` (looked up, and its
    bytes checked, in ``artifact_store``).
    """

    name: str = Field(pattern=NAME_PATTERN)
    base: str
    path: Path | None = None
    hash: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> AdapterEntry:
        if (self.path is None) == (self.hash is None):
            raise ValueError(f"adapter '{self.name}' needs exactly one of path or hash")
        return self


class PoolEntry(_Strict):
    """Serve pool ``pool``'s latest finalized adapter (``offchain/gateway/pools.py``)."""

    pool: int = Field(ge=1, description="Pool id on chain.")
    name: str | None = Field(
        None, pattern=NAME_PATTERN, description="Served model name; default pool-<id>."
    )
    base: str | None = Field(
        None, description="Base model (a base_models name); default: the first one."
    )
    adapter_sources: list[str] = Field(
        default_factory=list,
        description="Base URIs tried after the pool metadata's adapter_sources.",
    )
    poll_s: float = Field(15.0, gt=0, description="How often the chain is read for a new round.")

    @property
    def model_name(self) -> str:
        return self.name or f"pool-{self.pool}"


class LocalGeneratorConfig(_Strict):
    """Base model + adapter run in this process through the trainer's inference API."""

    kind: Literal["local"] = "local"
    name: str = Field("local", pattern=NAME_PATTERN)
    device: str | None = Field(None, description="'cpu' or 'cuda'; default: cuda when present.")
    models: list[str] | None = Field(None, description="Models served; default: all.")
    max_batch_size: int = Field(
        32, ge=1, le=1024, description="Most requests one base model decodes together."
    )
    max_waiting: int = Field(
        256, ge=0, description="Most requests queued per base model; beyond: 503 + Retry-After."
    )


class ApiGeneratorConfig(_Strict):
    """Any OpenAI-compatible remote endpoint."""

    kind: Literal["api"] = "api"
    name: str = Field("api", pattern=NAME_PATTERN)
    base_url: str = Field(description="Root of the remote API, e.g. https://host/v1.")
    api_key_env: str | None = Field(None, description="Env var holding the remote API key.")
    model_map: dict[str, str] = Field(
        default_factory=dict, description="Our model name -> the remote's model name."
    )
    default_model: str | None = Field(
        None, description="Remote model for names not in model_map; default: the same name."
    )
    timeout_s: float = Field(60.0, gt=0)
    models: list[str] | None = None


class CustomGeneratorConfig(_Strict):
    """A user's Python callable (``module:function``) or executable (``command``)."""

    kind: Literal["custom"] = "custom"
    name: str = Field("custom", pattern=NAME_PATTERN)
    callable: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    command: list[str] | None = None
    timeout_s: float = Field(60.0, gt=0)
    models: list[str] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CustomGeneratorConfig:
        if (self.callable is None) == (not self.command):
            raise ValueError(
                f"custom generator '{self.name}' needs exactly one of callable or command"
            )
        return self


GeneratorConfig = Annotated[
    LocalGeneratorConfig | ApiGeneratorConfig | CustomGeneratorConfig, Field(discriminator="kind")
]


class LimitsConfig(_Strict):
    max_body_bytes: int = Field(65_536, ge=256, description="Largest accepted request body.")
    max_tokens: int = Field(512, ge=1, description="Largest max_tokens a request may ask for.")
    default_max_tokens: int = Field(64, ge=1, description="max_tokens when a request omits it.")
    max_stop: int = Field(4, ge=0, description="Most stop strings per request.")

    @model_validator(mode="after")
    def _default_fits(self) -> LimitsConfig:
        if self.default_max_tokens > self.max_tokens:
            raise ValueError("limits.default_max_tokens must not exceed limits.max_tokens")
        return self


class RateLimitConfig(_Strict):
    enabled: bool = True
    requests_per_minute: float = Field(60.0, gt=0, description="Refill rate of each key's bucket.")
    burst: int = Field(10, ge=1, description="Bucket capacity: requests allowed at once.")


class AuthConfig(_Strict):
    enabled: bool = True
    keys_file: Path | None = Field(
        None, description="API key file; default <data_dir>/gateway/keys.json."
    )


def _default_generators() -> list[GeneratorConfig]:
    return [LocalGeneratorConfig()]


class GatewayConfig(_Strict):
    """Everything ``loranet serve`` needs."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    base_models: dict[str, ModelConfig] = Field(default_factory=lambda: {"tiny": ModelConfig()})
    adapters: list[AdapterEntry] = Field(default_factory=list)
    pools: list[PoolEntry] = Field(default_factory=list)
    artifact_store: Path | None = None
    generators: list[GeneratorConfig] = Field(default_factory=_default_generators)
    multipliers: dict[ExecutionMode, float] = Field(
        default_factory=lambda: dict(DEFAULT_MULTIPLIERS)
    )
    retry_after_s: float = Field(
        30.0, ge=0, description="How long a failed generator is skipped before a health check."
    )
    limits: LimitsConfig = LimitsConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    auth: AuthConfig = AuthConfig()
    web_ui: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> GatewayConfig:
        names = self.model_names
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"model names must be unique; repeated: {dupes}")
        for adapter in self.adapters:
            if adapter.base not in self.base_models:
                raise ValueError(
                    f"adapter '{adapter.name}' names base model '{adapter.base}', "
                    f"which is not in base_models"
                )
            if adapter.hash is not None and self.artifact_store is None:
                raise ValueError(f"adapter '{adapter.name}' is given by hash: set artifact_store")
        for entry in self.pools:
            if entry.base is not None and entry.base not in self.base_models:
                raise ValueError(
                    f"pool {entry.pool} names base model '{entry.base}', which is not in "
                    "base_models"
                )
        if self.pools and not self.base_models:
            raise ValueError("serving a pool needs a base model in base_models")
        gens = [g.name for g in self.generators]
        if len(set(gens)) != len(gens):
            raise ValueError(f"generator names must be unique: {gens}")
        if not self.generators:
            raise ValueError("at least one generator is needed")
        return self

    @property
    def model_names(self) -> list[str]:
        return (
            list(self.base_models)
            + [a.name for a in self.adapters]
            + [p.model_name for p in self.pools]
        )

    def pool_base(self, entry: PoolEntry) -> str:
        return entry.base or next(iter(self.base_models))

    def multiplier(self, mode: ExecutionMode) -> float:
        return self.multipliers.get(mode, DEFAULT_MULTIPLIERS[mode])


def load_gateway_config(path: Path | None, **overrides: object) -> GatewayConfig:
    """Read a YAML config (or the defaults when ``path`` is None); relative paths in it are
    taken relative to the file's folder. ``overrides`` (CLI flags) win; ``None`` ones skip.

    Raises:
        GatewayConfigError: the file is missing, not YAML, or a value is invalid.
    """
    data: dict[str, object] = {}
    if path is not None:
        if not path.is_file():
            raise GatewayConfigError(f"gateway config file {path} does not exist.")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise GatewayConfigError(
                f"gateway config file {path} is not valid YAML: {err}"
            ) from None
        if not isinstance(loaded, dict):
            raise GatewayConfigError(f"gateway config file {path} must hold a mapping.")
        data = _resolve_paths(loaded, path.parent.resolve())
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise GatewayConfigError(f"invalid gateway config at {where}: {first['msg']}.") from None


def _resolve_paths(data: dict[str, object], root: Path) -> dict[str, object]:
    def rel(value: object) -> object:
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            return str(root / value)
        return str(Path(value).expanduser()) if isinstance(value, str) else value

    out = dict(data)
    if "artifact_store" in out:
        out["artifact_store"] = rel(out["artifact_store"])
    adapters = out.get("adapters")
    if isinstance(adapters, list):
        out["adapters"] = [
            {**a, "path": rel(a["path"])} if isinstance(a, dict) and "path" in a else a
            for a in adapters
        ]
    auth = out.get("auth")
    if isinstance(auth, dict) and auth.get("keys_file"):
        out["auth"] = {**auth, "keys_file": rel(auth["keys_file"])}
    models = out.get("base_models")
    if isinstance(models, dict):
        out["base_models"] = {
            k: {**v, "path": rel(v["path"])} if isinstance(v, dict) and v.get("path") else v
            for k, v in models.items()
        }
    return out
