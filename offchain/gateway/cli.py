"""``loranet serve`` and ``loranet keys create|list|revoke``.

Only typer and the CLI context are imported at module level; FastAPI, uvicorn and torch are
imported inside the commands, so ``loranet --help`` stays fast.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from offchain.cli.context import CliState, state
from offchain.cli.options import JsonOpt

if TYPE_CHECKING:
    from offchain.gateway.pools import PoolSource

logger = logging.getLogger(__name__)

keys_app = typer.Typer(
    help="API keys of the inference gateway (stored hashed; shown once at creation).",
    no_args_is_help=True,
)

KEYS_FILE_HELP = "API key file (default <data_dir>/gateway/keys.json)."


def keys_file_for(cli: CliState, given: Path | None) -> Path:
    return given or cli.settings.data_dir / "gateway" / "keys.json"


def serve(
    ctx: typer.Context,
    config: Path | None = typer.Argument(
        None, help="Gateway YAML config (see docs/gateway.md); default: tiny model, local."
    ),
    config_option: Path | None = typer.Option(
        None, "--config", "-c", help="Gateway YAML config (same as the argument)."
    ),
    pool: list[int] = typer.Option(
        [],
        "--pool",
        help="Serve this pool's latest finalized adapter as model pool-<id>, following new "
        "rounds (read from the chain of --network; repeatable).",
    ),
    adapter_source: list[str] = typer.Option(
        [],
        "--adapter-source",
        help="Base URI where pool adapters are found by hash, tried after the pool metadata's "
        "adapter_sources (e.g. a validator's adapters folder on a local chain; repeatable).",
    ),
    host: str | None = typer.Option(None, "--host", help="Listen address (config: host)."),
    port: int | None = typer.Option(None, "--port", help="Listen port (config: port)."),
    keys_file: Path | None = typer.Option(None, "--keys-file", help=KEYS_FILE_HELP),
    log_format: str = typer.Option("kv", "--log-format", help="Log lines: kv or json."),
) -> None:
    """Serve base models, LoRA adapters and pools' trained adapters through an
    OpenAI-compatible HTTP API."""
    import uvicorn

    from offchain.gateway.app import create_app
    from offchain.gateway.config import PoolEntry, load_gateway_config
    from offchain.gateway.errors import GatewayConfigError
    from offchain.gateway.pools import with_pool_bases
    from offchain.logging import configure_logging

    cli = state(ctx)
    if config is not None and config_option is not None and config != config_option:
        raise GatewayConfigError("give the config file once: as the argument or with --config.")
    cfg = load_gateway_config(config or config_option, host=host, port=port)
    if pool:
        known = {p.pool for p in cfg.pools}
        extra = [
            PoolEntry(pool=p, adapter_sources=list(adapter_source)) for p in pool if p not in known
        ]
        cfg = cfg.model_copy(update={"pools": [*cfg.pools, *extra]})
    resolved_keys = cfg.auth.keys_file or keys_file_for(cli, keys_file)
    configure_logging(fmt="json" if log_format == "json" else "kv")
    pool_source = _pool_source(cli) if cfg.pools else None
    if pool_source is not None:
        cfg = with_pool_bases(cfg, pool_source)
    app = create_app(cfg, keys_file=resolved_keys, pool_source=pool_source)
    shown_keys = resolved_keys if cfg.auth.enabled else "off"
    served = ", ".join(cfg.model_names)
    cli.note(f"serving {served} on http://{cfg.host}:{cfg.port} (keys: {shown_keys})")
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_config=None, access_log=False)


def _pool_source(cli: CliState) -> PoolSource:
    """The chain (``--network``/``LORANET_*`` settings) and this machine's artifact fetcher."""
    from offchain.artifacts import open_fetcher
    from offchain.gateway.pools import ChainPoolSource

    settings = cli.settings
    client = cli.client()
    fetcher = open_fetcher(
        settings.artifacts,
        data_dir=settings.data_dir,
        chain_id=client.chain_id,
        network=settings.network,
    )
    return ChainPoolSource(client, fetcher)


@keys_app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A label for the key (who or what uses it)."),
    keys_file: Path | None = typer.Option(None, "--keys-file", help=KEYS_FILE_HELP),
    as_json: JsonOpt = False,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    from offchain.gateway.auth import KeyStore

    cli = state(ctx)
    cli.use_json(as_json)
    key, record = KeyStore(keys_file_for(cli, keys_file)).create(name)
    cli.emit(
        {"id": record.id, "name": record.name, "key": key},
        f"{key}\n[dim]id {record.id}; store it now: it cannot be shown again.[/dim]",
    )


@keys_app.command("list")
def list_keys(
    ctx: typer.Context,
    keys_file: Path | None = typer.Option(None, "--keys-file", help=KEYS_FILE_HELP),
    as_json: JsonOpt = False,
) -> None:
    """List keys (id, name, first characters, state); never the keys themselves."""
    from offchain.gateway.auth import KeyStore

    cli = state(ctx)
    cli.use_json(as_json)
    records = KeyStore(keys_file_for(cli, keys_file)).list()
    payload = [
        {
            "id": r.id,
            "name": r.name,
            "prefix": r.prefix,
            "created_at": r.created_at,
            "revoked": not r.active,
        }
        for r in records
    ]

    def render(console: Console) -> None:
        if not records:
            console.print("no API keys yet: create one with `loranet keys create <name>`.")
            return
        table = Table("id", "name", "starts with", "created", "state")
        for r in records:
            created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.created_at))
            table.add_row(
                r.id, r.name, r.prefix + "...", created, "active" if r.active else "revoked"
            )
        console.print(table)

    cli.emit(payload, render)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: str = typer.Argument(..., help="The key's id (from `loranet keys list`)."),
    keys_file: Path | None = typer.Option(None, "--keys-file", help=KEYS_FILE_HELP),
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key: the gateway refuses it from its next request on."""
    from offchain.gateway.auth import KeyStore

    cli = state(ctx)
    cli.use_json(as_json)
    record = KeyStore(keys_file_for(cli, keys_file)).revoke(key_id)
    cli.emit({"id": record.id, "revoked": True}, f"revoked {record.id} ({record.name})")
