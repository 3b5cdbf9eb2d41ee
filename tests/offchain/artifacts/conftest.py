"""Fixtures of the artifact store tests: a real S3-compatible server (``moto_server``) on a
free loopback port, the worker's real artifact server, and misbehaving HTTP servers (slow,
flaky, lying) to fetch from."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from artifacts_support import Behaviour

from offchain.artifacts import ArtifactServer, ArtifactSettings, FetchLimits, LocalStore


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``moto_server`` process (in memory) on a free loopback port."""
    port = _free_port()
    exe = Path(sys.executable).parent / "moto_server"
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture
def s3_settings(moto_endpoint: str) -> ArtifactSettings:
    """Artifact settings of an ``s3://`` store on moto with a fresh bucket."""
    from pydantic import SecretStr

    from offchain.artifacts.s3 import s3_client

    bucket = f"loranet-{uuid.uuid4().hex[:12]}"
    settings = ArtifactSettings(
        store=f"s3://{bucket}/adapters",
        s3_endpoint_url=moto_endpoint,
        s3_region="us-east-1",
        s3_access_key_id="test",
        s3_secret_access_key=SecretStr("test"),
        s3_addressing_style="path",
        attempts=2,
        backoff_s=0.05,
    )
    s3_client(settings).create_bucket(Bucket=bucket)
    return settings


@pytest.fixture
def fast_limits() -> FetchLimits:
    """Small bounds so that failure paths finish quickly (generous enough for a slow CI)."""
    return FetchLimits(
        max_bytes=1 << 20,
        connect_timeout_s=5.0,
        read_timeout_s=1.0,
        deadline_s=30.0,
        attempts=3,
        backoff_s=0.05,
        backoff_max_s=0.2,
    )


@pytest.fixture
def served_store(tmp_path: Path) -> Iterator[tuple[LocalStore, ArtifactServer]]:
    """The worker's ``http`` store: a folder named by hash behind the real artifact server."""
    root = tmp_path / "served"
    with ArtifactServer(root, "127.0.0.1", 0) as server:
        yield LocalStore(root, base_url=f"{server.url}/artifacts", kind="http"), server


@pytest.fixture
def scripted_server() -> Iterator[Callable[[Behaviour], str]]:
    """Start HTTP servers that behave as told; returns ``http://127.0.0.1:PORT``."""
    servers: list[ThreadingHTTPServer] = []
    stop = threading.Event()

    def _start(behaviour: Behaviour) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                behaviour.requests.append(self.path)
                if len(behaviour.requests) <= behaviour.fail_first:
                    self.send_error(HTTPStatus.SERVICE_UNAVAILABLE)
                    return
                if behaviour.delay_s:
                    stop.wait(behaviour.delay_s)
                self.send_response(behaviour.status)
                length = behaviour.claimed_length
                if length != -1:  # -1: no Content-Length, the body ends when the socket closes
                    size = len(behaviour.body) if length is None else length
                    self.send_header("Content-Length", str(size))
                self.end_headers()
                try:
                    if behaviour.trickle_s:
                        for i in range(len(behaviour.body)):
                            if stop.wait(behaviour.trickle_s):
                                return
                            self.wfile.write(behaviour.body[i : i + 1])
                            self.wfile.flush()
                    else:
                        self.wfile.write(behaviour.body)
                except (BrokenPipeError, ConnectionResetError):
                    return

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield _start
    stop.set()
    for server in servers:
        server.shutdown()
        server.server_close()
