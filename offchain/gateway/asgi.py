"""Two small ASGI pieces: the request counter and a stream response that notices clients
leaving.

Uvicorn speaks ASGI 2.4, where Starlette's ``StreamingResponse`` relies on ``send`` raising
once the client is gone; uvicorn's ``send`` is silently a no-op instead, so a stream whose
client left would run to its end (forever, for an endless generator). ``EventStreamResponse``
always listens for ``http.disconnect`` and cancels the stream, which closes the generator
and releases the model. The counter is plain ASGI middleware (``BaseHTTPMiddleware`` would
sit between the stream and the disconnect message).
"""

from __future__ import annotations

import logging

import anyio
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from offchain.gateway.metrics import GatewayMetrics

logger = logging.getLogger(__name__)


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` response cancelled as soon as the client disconnects."""

    media_type = "text/event-stream"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        finished = False
        async with anyio.create_task_group() as group:

            async def stream() -> None:
                nonlocal finished
                await self.stream_response(send)
                finished = True
                group.cancel_scope.cancel()

            group.start_soon(stream)
            await self.listen_for_disconnect(receive)
            if not finished:  # uvicorn also reports a disconnect once a response is complete
                logger.info("client left during a stream")
            group.cancel_scope.cancel()


class RequestCounter:
    """Counts HTTP requests by endpoint (known paths, else ``other``) and status code."""

    def __init__(self, app: ASGIApp, *, metrics: GatewayMetrics, paths: tuple[str, ...]) -> None:
        self.app = app
        self.metrics = metrics
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in self.paths else "other"
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.metrics.requests.labels(path, str(status)).inc()
