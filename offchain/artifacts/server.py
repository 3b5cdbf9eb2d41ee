"""The worker's artifact server: its own artifacts, read-only, by hash.

``GET``/``HEAD /artifacts/<sha256 hex>`` answer the file ``<root>/<hex>`` with its
``Content-Length`` (and ``ETag``, immutable caching); every other path is a 404 (no listing,
no other names: the path must be exactly 64 lower-case hex digits, so ``..``, ``%2e%2e`` or
absolute paths never reach the file system), every other method a 405. A threaded stdlib
server: downloads run concurrently, the service thread is never blocked by a slow reader.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from offchain.artifacts.digest import CHUNK
from offchain.artifacts.errors import ArtifactError
from offchain.logging import kv

logger = logging.getLogger(__name__)

ROUTE = "/artifacts/"
_PATH = re.compile(r"^/artifacts/([0-9a-f]{64})$")


class _Handler(BaseHTTPRequestHandler):
    server_version = "loranet-artifacts/1"
    root: Path  # set on the subclass built per server

    def _file(self) -> Path | None:
        match = _PATH.match(urlsplit(self.path).path)
        if match is None:
            return None
        path = self.root / match.group(1)
        return path if path.is_file() else None

    def _answer(self, body: bool) -> None:
        path = self._file()
        if path is None:
            self.send_error(HTTPStatus.NOT_FOUND, "no such artifact")
            return
        size = path.stat().st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("ETag", f'"{path.name}"')
        self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        self.end_headers()
        if body:
            try:
                with path.open("rb") as fh:
                    shutil.copyfileobj(fh, self.wfile, CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                logger.info("artifact reader went away", extra=kv(artifact=path.name))

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _refuse(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("artifact request " + format, *args)


class ArtifactServer:
    """Serve ``root`` on ``host:port`` (port 0: any free port) in a background thread."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        handler = type("ArtifactHandler", (_Handler,), {"root": self.root})
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as err:
            raise ArtifactError(
                f"cannot serve artifacts on {host}:{port}: {err.strerror or err}; set "
                "LORANET_ARTIFACTS_SERVE_HOST/LORANET_ARTIFACTS_SERVE_PORT to a free address."
            ) from None
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` of the listening socket (not the public URL)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ArtifactServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="artifact-server", daemon=True
        )
        self._thread.start()
        logger.info("artifact server up", extra=kv(url=self.url, root=str(self.root)))
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ArtifactServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
