"""``loranet web``: the dashboard (network explorer and provider console) in one process.

FastAPI, uvicorn and SQLAlchemy are imported inside the command, so ``loranet --help`` stays fast.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import typer

from offchain.cli.context import state
from offchain.errors import LoranetError

logger = logging.getLogger(__name__)


class DashboardError(LoranetError):
    """The dashboard cannot start (front end not built, port taken)."""


def web(
    ctx: typer.Context,
    host: str | None = typer.Option(
        None, "--host", help="Listen address (default 127.0.0.1; LORANET_WEB_HOST)."
    ),
    port: int | None = typer.Option(
        None, "--port", help="Listen port (default 8090; 0 = any free port; LORANET_WEB_PORT)."
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Read model URL: default sqlite under <data_dir>/web; or "
        "postgresql+psycopg://user@host:5432/dbname (LORANET_WEB_DB_URL).",
    ),
    artifacts: list[Path] = typer.Option(
        [], "--artifacts", help="Local artifact folder served at /artifacts/<hash> (repeatable)."
    ),
    validator_db: list[Path] = typer.Option(
        [], "--validator-db", help="validator.db whose rejection reasons to show (repeatable)."
    ),
    heartbeats: list[Path] = typer.Option(
        [], "--heartbeats", help="Worker data dir whose heartbeat.json to show (repeatable)."
    ),
    allow_missing_assets: bool = typer.Option(
        False, "--api-only", help="Serve the JSON API even when the front end is not built."
    ),
) -> None:
    """Serve the dashboard: explorer pages, live updates, and the provider console.

    It indexes the protocol's events (reorg-safe watcher) into its own store, serves the JSON
    API under /api and the front end built by `make setup`. The console signs nothing: your
    browser wallet (MetaMask, Rabby) does.
    """
    import uvicorn

    from offchain.web.app import MISSING_ASSETS, assets_built
    from offchain.web.service import build_dashboard

    cli = state(ctx)
    overrides = {
        "host": host,
        "port": port,
        "db_url": db,
        "artifact_dirs": artifacts or None,
        "validator_dbs": validator_db or None,
        "heartbeat_dirs": heartbeats or None,
    }
    web_settings = cli.settings.web.model_copy(  # the tree's web section, under the flags
        update={k: v for k, v in overrides.items() if v is not None}
    )
    if not assets_built() and not allow_missing_assets:
        raise DashboardError(MISSING_ASSETS.rstrip(".") + " (or pass --api-only).")
    dashboard = build_dashboard(cli.settings, web_settings)
    config = uvicorn.Config(
        dashboard.app,
        host=web_settings.host,
        port=web_settings.port,
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET6 if ":" in web_settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((web_settings.host, web_settings.port))
    except OSError as err:
        dashboard.stop()
        raise DashboardError(
            f"cannot listen on {web_settings.host}:{web_settings.port}: {err.strerror}."
        ) from None
    sock.listen(2048)  # connections queue from now on: the printed URL answers at once
    bound = sock.getsockname()[1]
    dashboard.start()
    cli.note(f"dashboard on http://{web_settings.host}:{bound}/ (Ctrl-C stops)")
    try:
        server.run(sockets=[sock])
    finally:
        dashboard.stop()
