"""The dashboard's HTTP side: JSON API, server-sent events and the built front end.

``create_app(explorer, indexer=..., client=...)``: the explorer pages need only the read
model; the live stream needs the indexer; the console needs a chain client (its routes
answer 503 with a sentence without one). The front end is the Vite build in
``offchain/web/static`` (``make setup`` builds it); every non-API path serves its
``index.html`` so that links such as ``/pool/1/round/3`` load the app.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from offchain.chain.client import ChainClient
from offchain.errors import LoranetError
from offchain.web.console import PlanRequest, account, describe_revert, plan
from offchain.web.explorer import Explorer, NotFound
from offchain.web.indexer import Indexer

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MISSING_ASSETS = (
    "the dashboard's front end is not built (no offchain/web/static/index.html): run "
    "`make setup`, or `cd web && npm ci && npm run build`."
)
SSE_TICK_S = 0.5
SSE_KEEPALIVE_S = 15.0


def assets_built(static_dir: Path = STATIC_DIR) -> bool:
    return (static_dir / "index.html").is_file()


class RevertRequest(BaseModel):
    data: str | None = None
    context: dict[str, Any] | None = None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(
    explorer: Explorer,
    *,
    indexer: Indexer | None = None,
    client: ChainClient | None = None,
    static_dir: Path = STATIC_DIR,
    artifact_path: Callable[[str], Path | None] | None = None,
    rpc_url: str | None = None,
) -> FastAPI:
    app = FastAPI(title="loranet dashboard", docs_url="/api/docs", openapi_url="/api/openapi.json")

    @app.exception_handler(NotFound)
    async def _not_found(_request: Request, err: NotFound) -> JSONResponse:
        return _error(404, str(err))

    @app.exception_handler(LoranetError)
    async def _refused(_request: Request, err: LoranetError) -> JSONResponse:
        return _error(422, str(err))

    # -- explorer ----------------------------------------------------------------------------

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "assets": assets_built(static_dir)}

    @app.get("/api/status")
    def status() -> dict[str, Any]:
        out: dict[str, Any] = {"meta": explorer.model.meta(), "console": client is not None}
        if indexer is not None:
            out["indexer"] = asdict(indexer.status())
        if client is not None:
            out["chain_id"] = client.chain_id
            out["contracts"] = dict(client.deployment.contracts)
            out["rpc_url"] = rpc_url
        return out

    @app.get("/api/overview")
    def overview(page: int = 1, per_page: int = 20) -> dict[str, Any]:
        return explorer.cached(
            ("overview", page, per_page), lambda: explorer.overview(page=page, per_page=per_page)
        )

    @app.get("/api/pools/{pool_id}")
    def pool(pool_id: int, page: int = 1, per_page: int = 25) -> dict[str, Any]:
        return explorer.cached(
            ("pool", pool_id, page, per_page),
            lambda: explorer.pool(pool_id, page=page, per_page=per_page),
        )

    @app.get("/api/pools/{pool_id}/rounds/{round_}")
    def round_(pool_id: int, round_: int) -> dict[str, Any]:
        return explorer.cached(("round", pool_id, round_), lambda: explorer.round(pool_id, round_))

    @app.get("/api/providers")
    def providers(page: int = 1, per_page: int = 25) -> dict[str, Any]:
        return explorer.cached(
            ("providers", page, per_page), lambda: explorer.providers(page=page, per_page=per_page)
        )

    @app.get("/api/providers/{address}")
    def provider(address: str, page: int = 1, per_page: int = 25) -> dict[str, Any]:
        return explorer.cached(
            ("provider", address.lower(), page, per_page),
            lambda: explorer.provider(address, page=page, per_page=per_page),
        )

    @app.get("/api/nodes/{address}")
    def node(address: str, page: int = 1, per_page: int = 25) -> dict[str, Any]:
        return explorer.cached(
            ("node", address.lower(), page, per_page),
            lambda: explorer.node(address, page=page, per_page=per_page),
        )

    @app.get("/api/events")
    def events(page: int = 1, per_page: int = 50) -> dict[str, Any]:
        return explorer.cached(
            ("events", page, per_page), lambda: explorer.events(page=page, per_page=per_page)
        )

    @app.get("/api/search")
    def search(q: str) -> dict[str, Any]:
        return explorer.search(q)

    @app.get("/api/stream")
    async def stream(request: Request) -> StreamingResponse:
        """Server-sent events: one ``block`` message each time the indexer moves."""

        async def messages() -> AsyncIterator[str]:
            seen = -1
            idle = 0.0
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                version = indexer.version if indexer is not None else 0
                if version != seen:
                    seen = version
                    body = {"version": version}
                    if indexer is not None:
                        body.update(cursor=indexer.watcher.cursor(), head=indexer.head)
                    yield f"event: block\ndata: {json.dumps(body)}\n\n"
                    idle = 0.0
                elif idle >= SSE_KEEPALIVE_S:
                    yield ": keep-alive\n\n"
                    idle = 0.0
                await asyncio.sleep(SSE_TICK_S)
                idle += SSE_TICK_S

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(messages(), media_type="text/event-stream", headers=headers)

    # -- console -----------------------------------------------------------------------------

    def _client() -> ChainClient:
        if client is None:
            raise LoranetError(
                "the console needs the chain: start `loranet web` with a reachable RPC URL."
            )
        return client

    @app.get("/api/console/account/{address}")
    def console_account(address: str) -> dict[str, Any]:
        return account(_client(), address)

    @app.post("/api/console/plan")
    def console_plan(request: PlanRequest) -> dict[str, Any]:
        return plan(_client(), request)

    @app.post("/api/console/revert")
    def console_revert(request: RevertRequest) -> dict[str, Any]:
        return {"sentence": describe_revert(_client().decoder, request.data, request.context)}

    # -- artifacts and the front end -------------------------------------------------------------

    @app.get("/artifacts/{digest}")
    def artifact(digest: str) -> Response:
        path = artifact_path(digest) if artifact_path is not None else None
        if path is None:
            return _error(404, f"no local artifact with hash {digest}.")
        return FileResponse(
            path, media_type="application/octet-stream", filename=f"{digest}.safetensors"
        )

    assets = static_dir / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=assets), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    def front_end(path: str) -> Response:
        if path.startswith("api/"):
            return _error(404, f"no API route /{path}.")
        if not assets_built(static_dir):
            return Response(MISSING_ASSETS, status_code=503, media_type="text/plain")
        target = (static_dir / path).resolve()
        if path and target.is_file() and static_dir.resolve() in target.parents:
            return FileResponse(target)
        return FileResponse(static_dir / "index.html", headers={"Cache-Control": "no-cache"})

    return app
