"""The dashboard assembled from settings: read model, indexer, explorer, app; and its server."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from offchain.chain.client import ChainClient
from offchain.logging import kv
from offchain.settings import Settings
from offchain.watcher import WatchedContract, deployed_contracts
from offchain.web.app import create_app
from offchain.web.explorer import Explorer, Reasons
from offchain.web.indexer import Indexer
from offchain.web.readmodel import ReadModel
from offchain.web.settings import WebSettings

logger = logging.getLogger(__name__)

_HEX64 = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
HEARTBEAT_FILE = "heartbeat.json"  # offchain.worker.service.HEARTBEAT_FILE


def default_db_url(settings: Settings) -> str:
    folder = settings.data_dir / "web"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'explorer.db'}"


def artifact_finder(dirs: list[Path]) -> Callable[[str], Path | None]:
    """``digest -> path`` in the first folder holding ``<hex>.safetensors`` (hashes only)."""

    def find(digest: str) -> Path | None:
        if not _HEX64.match(digest):
            return None
        name = f"{digest.lower().removeprefix('0x')}.safetensors"
        for folder in dirs:
            path = Path(folder) / name
            if path.is_file():
                return path
        return None

    return find


def heartbeat_reader(dirs: list[Path]) -> Callable[[str], dict[str, Any] | None]:
    """``node -> its latest heartbeat.json`` among the configured worker data dirs."""

    def read(node: str) -> dict[str, Any] | None:
        for folder in dirs:
            path = Path(folder) / HEARTBEAT_FILE
            try:
                beat = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if str(beat.get("node", "")).lower() == node.lower():
                return dict(beat)
        return None

    return read


def watched_contracts(client: ChainClient) -> list[WatchedContract]:
    """Every deployed loranet contract that has an exported ABI."""
    return deployed_contracts(client.deployment.contracts)


@dataclass
class Dashboard:
    """Everything ``loranet web`` runs: the app, and the indexer thread behind it."""

    app: FastAPI
    model: ReadModel
    indexer: Indexer
    client: ChainClient
    explorer: Explorer

    def start(self) -> None:
        self.indexer.start()

    def stop(self) -> None:
        self.indexer.stop()
        self.model.close()


def build_dashboard(settings: Settings, web: WebSettings | None = None) -> Dashboard:
    """Connect to the chain, open the read model and wire the app (does not start threads).

    ``web`` defaults to the settings tree's ``web`` section.
    """
    web = web or settings.web
    client = ChainClient.connect(settings)
    model = ReadModel(web.db_url or default_db_url(settings))
    watcher_db = settings.data_dir / "web" / f"watcher-{client.chain_id}.db"
    indexer = Indexer(
        w3=client.w3,
        chain_id=client.chain_id,
        contracts=watched_contracts(client),
        model=model,
        watcher_db=watcher_db,
        start_block=client.deployment.block,
        confirmations=web.confirmations,
        page_size=web.page_size,
        poll_interval_s=web.poll_interval_s,
    )
    validator_dbs = (
        list(web.validator_dbs)
        or [
            path
            for path in (  # this machine's validator (its section's folder; older: the data dir)
                settings.validator_dir / "validator.db",
                settings.data_dir / "validator.db",
            )
            if path.is_file()
        ][:1]
    )
    find = artifact_finder(list(web.artifact_dirs))
    explorer = Explorer(
        model,
        reasons=Reasons(validator_dbs),
        has_artifact=lambda digest: find(digest) is not None,
        heartbeats=heartbeat_reader(list(web.heartbeat_dirs)) if web.heartbeat_dirs else None,
    )
    app = create_app(
        explorer,
        indexer=indexer,
        client=client,
        artifact_path=find,
        rpc_url=settings.resolved_rpc_url,
    )
    logger.info(
        "dashboard built",
        extra=kv(
            chain_id=client.chain_id,
            db=model.engine.url.render_as_string(),
            cursor=indexer.watcher.cursor(),
        ),
    )
    return Dashboard(app=app, model=model, indexer=indexer, client=client, explorer=explorer)
