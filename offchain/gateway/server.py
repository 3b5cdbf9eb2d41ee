"""Run an ASGI app with uvicorn in a background thread (tests, benchmark, embedding).

``with BackgroundServer(app) as server: httpx.get(server.url + "/health")``: the server
listens on ``host`` and a free port (``port=0``), the app's lifespan start-up (model loading)
has finished when ``__enter__`` returns, and ``__exit__`` shuts it down and joins the thread.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

import uvicorn

from offchain.gateway.errors import GatewayError

logger = logging.getLogger(__name__)


class BackgroundServer:
    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, start_timeout: float = 120.0
    ) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.host = host
        self.start_timeout = start_timeout
        self._thread = threading.Thread(target=self.server.run, name="gateway-server", daemon=True)
        self._ready = threading.Event()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        original = self.server.startup

        async def startup(sockets: Any = None) -> None:
            try:
                await original(sockets=sockets)
            finally:
                self._ready.set()

        self.server.startup = startup  # type: ignore[method-assign]
        self._thread.start()
        if not self._ready.wait(self.start_timeout) or not self.server.started:
            self.stop()
            raise GatewayError(f"the gateway server did not start within {self.start_timeout} s.")
        self.port = int(self.server.servers[0].sockets[0].getsockname()[1])
        logger.info("background server listening url=%s", self.url)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
