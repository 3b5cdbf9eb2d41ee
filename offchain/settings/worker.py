"""The ``worker`` section of the settings tree: the worker service's knobs.

Environment variables ``LORANET_<FIELD>`` (e.g. ``LORANET_BROKER_URL``), or a ``worker:``
section in the YAML config file. In the tree (:class:`offchain.settings.Settings`) the data
dir and the artifact settings are the root's (``data_dir``, ``artifacts``): one data dir for
every service of a machine. Built alone (tests, ``celery -A``), it reads ``LORANET_DATA_DIR``
itself.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from offchain.artifacts.settings import ArtifactSettings


class WorkerSettings(BaseSettings):
    """Knobs of the watcher, the Celery worker, the outbox, heartbeats and metrics.

    ``data_dir`` and ``artifacts`` are bound to the root's in the tree (not settable in the
    ``worker:`` section).
    """

    model_config = SettingsConfigDict(
        env_prefix="LORANET_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default_factory=lambda: Path.home() / ".loranet",
        description="Service state: watcher.db, broker.db, results.db, outbox.db, tasks.db.",
    )
    broker_url: str | None = Field(
        None, description="Celery broker; default: embedded SQLite in the data dir. redis://..."
    )
    result_backend: str | None = Field(
        None, description="Celery results; default: SQLite in the data dir (Redis with Redis)."
    )
    queue: str = Field("loranet", description="Celery queue of this node's tasks.")
    round_work_retries: int = Field(
        8,
        ge=0,
        description="Retries of round work that failed on a transient fault (full or read-only "
        "disk, an unreachable store or RPC), with backoff doubling from round_work_backoff_s.",
    )
    round_work_backoff_s: float = Field(
        5.0, gt=0, description="First delay before round work is retried (doubles, up to 300 s)."
    )
    shutdown_grace_s: float = Field(
        300.0,
        ge=0,
        description="On SIGTERM, how long the service waits for the running task to finish. "
        "A task still running then is abandoned unacknowledged and delivered again on restart.",
    )
    dry_run_train_s: float = Field(
        0.0, ge=0, description="How long the dry-run trainer pretends to train (demos, tests)."
    )
    task_visibility_timeout_s: float = Field(
        3_600.0,
        gt=0,
        description="Redis broker: a task taken but not acknowledged (its worker was killed) is "
        "delivered again after this many seconds; keep it above the longest round work. The "
        "embedded broker redelivers such tasks when the service starts again.",
    )
    watch_confirmations: int = Field(0, ge=0, description="Blocks below head the watcher reads.")
    watch_page_size: int = Field(2_000, ge=1, description="Initial blocks per eth_getLogs.")
    watch_max_page_size: int = Field(10_000, ge=1, description="Largest blocks per eth_getLogs.")
    watch_poll_interval_s: float = Field(2.0, gt=0, description="Pause between watcher polls.")
    watch_start_block: int | None = Field(
        None, ge=0, description="First block to read; default: the deployment block."
    )
    reorg_window: int = Field(128, ge=1, description="Blocks whose hashes are kept for reorgs.")
    outbox_stuck_after_s: float = Field(
        60.0, gt=0, description="Replace a sent transaction unmined after this long."
    )
    outbox_fee_bump_bps: int = Field(
        1_250, ge=1_250, description="Fee increase of a replacement, basis points (>= 12.5%)."
    )
    outbox_confirmations: int = Field(
        1, ge=1, description="Blocks a report's receipt must be deep to count as final."
    )
    outbox_recheck_interval_s: float = Field(
        10.0,
        ge=0,
        description="How often confirmed transactions of the last reorg_window blocks are "
        "checked again (a deeper reorg re-opens and re-sends them).",
    )
    heartbeat_interval_s: float = Field(30.0, gt=0, description="Seconds between heartbeats.")
    heartbeat_ttl_s: float = Field(90.0, gt=0, description="DHT expiry of a heartbeat.")
    metrics_host: str = Field("127.0.0.1", description="Prometheus endpoint address.")
    metrics_port: int = Field(9464, ge=0, le=65535, description="Prometheus port (0: off).")
    claim_rewards: bool = Field(
        True, description="Claim the provider's rewards after each round that paid this node."
    )
    artifacts: ArtifactSettings = Field(
        default_factory=ArtifactSettings,
        description="Artifact store, server and fetch limits (LORANET_ARTIFACTS_*).",
    )

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{self.data_dir.resolve() / 'broker.db'}"

    @property
    def resolved_result_backend(self) -> str:
        if self.result_backend:
            return self.result_backend
        if self.broker_url and self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return f"db+sqlite:///{self.data_dir.resolve() / 'results.db'}"

    @property
    def watcher_db(self) -> Path:
        return self.data_dir / "watcher.db"

    @property
    def tasks_db(self) -> Path:
        return self.data_dir / "tasks.db"

    @property
    def outbox_db(self) -> Path:
        return self.data_dir / "outbox.db"

    @property
    def standing_db(self) -> Path:
        return self.data_dir / "standing.db"
