"""The FastAPI application of the gateway: :func:`create_app` builds one from a config.

Routes: ``POST /v1/chat/completions``, ``POST /v1/completions`` (both stream with
``"stream": true``), ``GET /v1/models`` (these three need an API key), ``GET /health``,
``GET /metrics`` and the chat page at ``/`` (public).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from offchain.gateway.asgi import EventStreamResponse, RequestCounter
from offchain.gateway.auth import KeyStore
from offchain.gateway.completions import CompletionService
from offchain.gateway.config import GatewayConfig
from offchain.gateway.errors import GatewayConfigError, KeyStoreError
from offchain.gateway.generators import build_generator
from offchain.gateway.generators.base import Generator
from offchain.gateway.generators.chain import GeneratorChain
from offchain.gateway.http_errors import (
    ApiError,
    api_error_handler,
    http_error_handler,
    unexpected_error_handler,
)
from offchain.gateway.metrics import CONTENT_TYPE, GatewayMetrics
from offchain.gateway.openai_schema import (
    ChatCompletionRequest,
    CompletionRequest,
    ModelCard,
    ModelList,
    UnsupportedParameter,
    check_parameters,
    validation_error_body,
)
from offchain.gateway.pools import PoolFollower, PoolSource
from offchain.gateway.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent / "web"
ANONYMOUS = "anonymous"
_KNOWN_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics")


def default_keys_file() -> Path:
    return Path.home() / ".loranet" / "gateway" / "keys.json"


def create_app(
    config: GatewayConfig,
    *,
    keys_file: Path | None = None,
    generators: list[Generator] | None = None,
    clock: Callable[[], float] = time.monotonic,
    pool_source: PoolSource | None = None,
) -> FastAPI:
    """The gateway app. Generators are built from ``config`` (or given) and started in the
    app's lifespan; ``keys_file`` defaults to ``config.auth.keys_file`` then
    ``~/.loranet/gateway/keys.json``; ``clock`` drives rate limiting and retry-later."""
    metrics = GatewayMetrics()
    gens = (
        generators
        if generators is not None
        else [
            build_generator(entry, config, on_stats=metrics.engine_stats)
            for entry in config.generators
        ]
    )
    chain = GeneratorChain(
        gens,
        retry_after_s=config.retry_after_s,
        clock=clock,
        on_failure=lambda gen, _model: metrics.generator_failures.labels(gen.name).inc(),
    )
    keys = (
        KeyStore(keys_file or config.auth.keys_file or default_keys_file())
        if config.auth.enabled
        else None
    )
    limiter = (
        RateLimiter(config.rate_limit.requests_per_minute, config.rate_limit.burst, clock=clock)
        if config.rate_limit.enabled
        else None
    )
    service = CompletionService(config, chain, metrics, _adapter_hashes(config))
    followers = _followers(config, gens, pool_source)
    started_at = int(time.time())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await to_thread.run_sync(chain.start)
        for follower in followers:
            await to_thread.run_sync(follower.start)
        if keys is not None and not any(r.active for r in keys.list()):
            logger.warning(
                "no active API key in %s: every request will be refused; "
                "create one with `loranet keys create <name>`",
                keys.path,
            )
        logger.info("gateway ready generators=%s", [g.name for g in gens])
        try:
            yield
        finally:
            for follower in followers:
                follower.close()
            chain.close()

    app = FastAPI(title="loranet gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.chain = chain
    app.state.metrics = metrics
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)

    app.add_middleware(RequestCounter, metrics=metrics, paths=_KNOWN_PATHS)

    def authenticate(request: Request) -> str:
        """The caller's key id (after the rate limit); raises 401 / 429."""
        key_id = ANONYMOUS
        if keys is not None:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(
                    401,
                    "Missing API key: send it as 'Authorization: Bearer lnk_...'.",
                    code="missing_api_key",
                )
            try:
                record = keys.verify(token.strip())
            except KeyStoreError as err:
                logger.error("key store unreadable: %s", err)
                raise ApiError(
                    500, "The gateway cannot check API keys.", type_="server_error"
                ) from None
            if record is None:
                raise ApiError(401, "Incorrect or revoked API key.", code="invalid_api_key")
            key_id = record.id
        if limiter is not None:
            wait = limiter.acquire(key_id)
            if wait is not None:
                metrics.rate_limited.inc()
                raise ApiError(
                    429,
                    f"Rate limit reached for this key; retry in {wait:.0f} s.",
                    type_="rate_limit_error",
                    code="rate_limit_exceeded",
                    headers={"Retry-After": f"{wait:.0f}"},
                )
        return key_id

    async def parse(
        request: Request, model: type[ChatCompletionRequest] | type[CompletionRequest]
    ) -> Any:
        limit = config.limits.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > limit:
                raise _too_large(limit)
        try:
            raw = json.loads(bytes(body))
        except ValueError:
            raise ApiError(
                400, "The request body is not valid JSON.", code="invalid_json"
            ) from None
        if not isinstance(raw, dict):
            raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
        try:
            check_parameters(raw, model)
        except UnsupportedParameter as err:
            raise ApiError(400, str(err), param=err.param, code=err.code) from None
        try:
            return model.model_validate(raw)
        except ValidationError as err:
            return_body = validation_error_body(err)
            raise ApiError(400, **_error_kwargs(return_body)) from None

    async def completion(
        request: Request, model: type[ChatCompletionRequest] | type[CompletionRequest]
    ) -> Response:
        key_id = authenticate(request)
        body = await parse(request, model)
        if body.stream:
            events, headers = await service.open_stream(body, key_id)
            return EventStreamResponse(
                events,
                headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        payload, headers = await service.complete(body, key_id)
        return JSONResponse(payload, headers=headers)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await completion(request, ChatCompletionRequest)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        return await completion(request, CompletionRequest)

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        authenticate(request)
        cards = [ModelCard(id=name, created=started_at, kind="base") for name in config.base_models]
        cards += [
            ModelCard(
                id=a.name,
                created=started_at,
                kind="adapter",
                base_model=a.base,
                adapter_hash=service.adapter_hash(a.name),
            )
            for a in config.adapters
        ]
        cards += [
            ModelCard(
                id=entry.model_name,
                created=started_at,
                kind="adapter",
                base_model=config.pool_base(entry),
                adapter_hash=service.adapter_hash(entry.model_name),
                pool=entry.pool,
            )
            for entry in config.pools
        ]
        listed = {c.id for c in cards}
        cards += [
            ModelCard(id=name, created=started_at, kind="remote")
            for name in service.known_models()
            if name not in listed
        ]
        return ModelList(data=cards).model_dump()

    @app.get("/health")
    async def health() -> JSONResponse:
        report = await chain.health(service.known_models())
        if followers:
            report["pools"] = [f.status() for f in followers]
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    if config.web_ui:

        @app.get("/", include_in_schema=False)
        async def index() -> FileResponse:
            return FileResponse(WEB_DIR / "index.html", media_type="text/html")

        @app.get("/web/{name}", include_in_schema=False)
        async def web_file(name: str) -> FileResponse:
            files = {"app.js": "text/javascript", "style.css": "text/css"}
            if name not in files:
                raise ApiError(404, f"No file {name}.", code="not_found")
            return FileResponse(WEB_DIR / name, media_type=files[name])

    return app


def _followers(
    config: GatewayConfig, gens: list[Generator], source: PoolSource | None
) -> list[PoolFollower]:
    """One follower per configured pool, installing into the local generator serving it."""
    from offchain.gateway.generators.local import LocalGenerator

    out = []
    for entry in config.pools:
        local = next(
            (g for g in gens if isinstance(g, LocalGenerator) and g.serves(entry.model_name)),
            None,
        )
        if local is None:
            raise GatewayConfigError(
                f"pool {entry.pool} ('{entry.model_name}') needs a local generator serving it."
            )
        if source is None:
            raise GatewayConfigError(
                f"pool {entry.pool} is configured but the gateway has no chain to read it from."
            )

        def install(name: str, base: str, path: Path, local: LocalGenerator = local) -> str:
            return local.add_adapter(name, base, lambda: path)

        out.append(
            PoolFollower(
                entry.pool,
                entry.model_name,
                config.pool_base(entry),
                source,
                install,
                extra_sources=list(entry.adapter_sources),
                poll_s=entry.poll_s,
            )
        )
    return out


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"The request body exceeds {limit} bytes.", code="request_too_large")


def _error_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    err = body["error"]
    return {"message": err["message"], "param": err["param"], "code": err["code"]}


def _adapter_hashes(config: GatewayConfig) -> dict[str, str | None]:
    """Hash of every configured adapter (None when its file is missing)."""
    from trainer.artifacts import adapter_hash

    out: dict[str, str | None] = {}
    for adapter in config.adapters:
        if adapter.hash is not None:
            out[adapter.name] = adapter.hash.lower()
        elif adapter.path is not None and adapter.path.is_file():
            out[adapter.name] = adapter_hash(adapter.path)
        else:
            out[adapter.name] = None
    return out
