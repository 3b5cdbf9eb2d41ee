"""Shared values of the gateway tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from offchain.gateway.auth import KeyStore

REMOTE_KEY_ENV = "LORANET_TEST_REMOTE_KEY"
REMOTE_SECRET = "remote-secret-123"
REMOTE_TEXT = "hello from the remote API"


@dataclass(frozen=True)
class Keys:
    store: KeyStore
    key: str
    key_id: str
    revoked_key: str


@dataclass(frozen=True)
class Gateway:
    url: str
    key: str

    def client(self, key: str | None = "default") -> httpx.Client:
        token = self.key if key == "default" else key
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def sse_events(response: httpx.Response) -> list[str]:
    """The ``data:`` payloads of a server-sent event stream, in order."""
    return [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]
