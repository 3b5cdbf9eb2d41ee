"""Bad input never crashes a reader: each failure is one readable error of the right kind."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from artifacts_support import Behaviour

from offchain.artifacts import (
    ArtifactHashMismatchError,
    ArtifactServer,
    ArtifactTooLargeError,
    ArtifactUnavailableError,
    ArtifactURIError,
    FetchLimits,
    LocalStore,
    fetch_verified,
)

BODY = b"x" * 50_000
SHA = "0x" + hashlib.sha256(BODY).hexdigest()


def test_retry_then_success(
    scripted_server: Callable[[Behaviour], str], fast_limits: FetchLimits, tmp_path: Path
) -> None:
    behaviour = Behaviour(body=BODY, fail_first=2)
    url = scripted_server(behaviour) + "/any/static/path.bin"
    path = fetch_verified(url, SHA, tmp_path, limits=fast_limits)
    assert path.read_bytes() == BODY and len(behaviour.requests) == 3
    # cached by hash: no further request
    assert fetch_verified(url, SHA, tmp_path, limits=fast_limits) == path
    assert len(behaviour.requests) == 3


def test_unreachable_gives_up_after_bounded_attempts(
    scripted_server: Callable[[Behaviour], str], fast_limits: FetchLimits, tmp_path: Path
) -> None:
    behaviour = Behaviour(body=BODY, fail_first=100)
    with pytest.raises(ArtifactUnavailableError, match=r"HTTP 503.*3 attempt"):
        fetch_verified(scripted_server(behaviour) + "/a", SHA, tmp_path, limits=fast_limits)
    assert len(behaviour.requests) == fast_limits.attempts
    with pytest.raises(ArtifactUnavailableError, match="cannot download"):
        fetch_verified("http://127.0.0.1:9/nothing", SHA, tmp_path, limits=fast_limits)
    assert list(tmp_path.iterdir()) == []  # nothing half-written is kept


def test_hash_mismatch_is_not_retried(
    scripted_server: Callable[[Behaviour], str], fast_limits: FetchLimits, tmp_path: Path
) -> None:
    behaviour = Behaviour(body=b"other bytes")
    with pytest.raises(ArtifactHashMismatchError, match="hashes to") as err:
        fetch_verified(scripted_server(behaviour) + "/a", SHA, tmp_path, limits=fast_limits)
    assert err.value.expected == SHA and len(behaviour.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_oversized_by_header_and_by_body(
    scripted_server: Callable[[Behaviour], str], tmp_path: Path
) -> None:
    limits = FetchLimits(max_bytes=10_000, attempts=3, backoff_s=0.01)
    honest = Behaviour(body=BODY)
    with pytest.raises(ArtifactTooLargeError, match="over the limit"):
        fetch_verified(scripted_server(honest) + "/a", SHA, tmp_path, limits=limits)
    assert len(honest.requests) == 1  # a size limit is not retried
    unsized = Behaviour(body=BODY, claimed_length=-1)  # no header: counted while reading
    with pytest.raises(ArtifactTooLargeError, match="over the limit"):
        fetch_verified(scripted_server(unsized) + "/a", SHA, tmp_path, limits=limits)
    assert list(tmp_path.iterdir()) == []


def test_timeout_of_a_server_that_never_answers(
    scripted_server: Callable[[Behaviour], str], tmp_path: Path
) -> None:
    limits = FetchLimits(read_timeout_s=0.5, attempts=2, backoff_s=0.01, deadline_s=30)
    url = scripted_server(Behaviour(body=BODY, delay_s=60)) + "/a"
    started = time.monotonic()
    with pytest.raises(ArtifactUnavailableError, match="timed out"):
        fetch_verified(url, SHA, tmp_path, limits=limits)
    assert time.monotonic() - started < 20  # bounded, not the server's 60 s


def test_deadline_of_a_server_that_trickles(
    scripted_server: Callable[[Behaviour], str], tmp_path: Path
) -> None:
    """Each byte arrives within the read timeout; the overall deadline still ends it."""
    limits = FetchLimits(read_timeout_s=5, attempts=1, deadline_s=1.5)
    url = scripted_server(Behaviour(body=BODY, trickle_s=0.05)) + "/a"
    started = time.monotonic()
    with pytest.raises(ArtifactUnavailableError, match="deadline"):
        fetch_verified(url, SHA, tmp_path, limits=limits)
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    "uri", ["ipfs://Qm", "", "http:///no-host", "ftp://host/a", "gs://bucket/key"]
)
def test_unusable_uris(uri: str, tmp_path: Path) -> None:
    with pytest.raises(ArtifactURIError):
        fetch_verified(uri, SHA, tmp_path, local_ok=True)


def test_devices_and_folders_are_not_artifacts(tmp_path: Path, fast_limits: FetchLimits) -> None:
    for uri in ("/dev/zero", str(tmp_path), "file:///dev/urandom"):
        with pytest.raises(ArtifactUnavailableError, match="not a file"):
            fetch_verified(uri, SHA, tmp_path / "c", local_ok=True, limits=fast_limits)


@pytest.mark.parametrize(
    "path",
    [
        "/artifacts/../secret",
        "/artifacts/%2e%2e/secret",
        "/artifacts/..%2fsecret",
        "/../secret",
        "/artifacts/",
        "/",
        "/artifacts/" + "A" * 64,
        "/artifacts/.put-x.tmp",
        "/secret",
    ],
)
def test_server_refuses_traversal_listing_and_other_names(tmp_path: Path, path: str) -> None:
    root = tmp_path / "root"
    store = LocalStore(root)
    ref = store.put_bytes(b"public")
    (tmp_path / "secret").write_text("private")
    (root / ".put-x.tmp").write_text("half-written")
    with ArtifactServer(root) as server, httpx.Client() as client:
        ok = client.get(f"{server.url}/artifacts/{ref.sha256[2:]}")
        assert ok.status_code == 200 and ok.content == b"public"
        assert ok.headers["Content-Length"] == "6"
        response = client.send(client.build_request("GET", server.url + path))
        assert response.status_code == 404 and b"private" not in response.content
        assert (
            client.put(f"{server.url}/artifacts/{ref.sha256[2:]}", content=b"x").status_code == 405
        )
