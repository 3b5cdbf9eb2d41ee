"""Fetch an artifact by URI and expected hash into a local cache, verified.

:func:`fetch_verified` (or a :class:`Fetcher` built once from the settings):

1. cache hit: ``<cache>/<sha256 hex>`` exists (it was renamed there only after its bytes
   hashed to its name) -> returned at once;
2. the URI is checked (scheme; ``file://`` only on a local chain);
3. up to ``limits.attempts`` downloads into a temporary file of the cache, hashing on the way,
   each bounded by the connect/read timeouts, ``limits.max_bytes`` and the overall
   ``limits.deadline_s``; a failure to reach the bytes is retried after
   ``backoff_s * 2**i`` (capped), an oversized artifact is not;
4. the hash is compared: a mismatch deletes the bytes and raises
   :class:`ArtifactHashMismatchError`; a match renames them to ``<cache>/<hex>``.

Errors: :class:`ArtifactUnavailableError` (could not get the bytes, or over the size limit:
not evidence against the publisher), :class:`ArtifactHashMismatchError` (evidence),
:class:`ArtifactURIError` (unusable URI).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offchain.artifacts.digest import CHUNK, hex_of
from offchain.artifacts.errors import (
    ArtifactHashMismatchError,
    ArtifactTooLargeError,
    ArtifactUnavailableError,
)
from offchain.artifacts.limits import FetchLimits
from offchain.artifacts.uri import ArtifactURI, require_readable
from offchain.logging import kv

logger = logging.getLogger(__name__)

#: ``() -> boto3 S3 client`` (built lazily: only S3 URIs need one).
ClientFactory = Callable[[], Any]


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def check(self, uri: str) -> None:
        if self.left() <= 0:
            raise ArtifactUnavailableError(
                f"fetching {uri} took longer than its deadline of {self.seconds:g} s."
            )


def _too_large(uri: str, size: int, limit: int) -> ArtifactTooLargeError:
    return ArtifactTooLargeError(f"artifact {uri} is {size} bytes, over the limit of {limit}.")


def _http_chunks(uri: ArtifactURI, limits: FetchLimits, deadline: _Deadline) -> Iterator[bytes]:
    """The body of an HTTP(S) GET as it arrives (httpx yields each read, so the overall
    deadline is checked even against a server that trickles bytes)."""
    import httpx

    timeout = httpx.Timeout(
        connect=limits.connect_timeout_s,
        read=limits.read_timeout_s,
        write=limits.read_timeout_s,
        pool=limits.connect_timeout_s,
    )
    try:
        with httpx.stream(
            "GET",
            uri.location,
            timeout=timeout,
            follow_redirects=True,
            headers={"Accept-Encoding": "identity"},
        ) as response:
            if response.status_code != 200:
                raise ArtifactUnavailableError(
                    f"artifact {uri.raw} answered HTTP {response.status_code} "
                    f"{response.reason_phrase or ''}".rstrip()
                    + "."
                )
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > limits.max_bytes:
                raise _too_large(uri.raw, int(length), limits.max_bytes)
            yield from response.iter_raw()
    except (httpx.HTTPError, httpx.InvalidURL) as err:
        raise ArtifactUnavailableError(f"cannot download {uri.raw}: {_describe(err)}") from None


def _describe(err: BaseException) -> str:
    import httpx

    if isinstance(err, httpx.TimeoutException):
        return f"timed out ({type(err).__name__})"
    return _short(err)


def _s3_chunks(uri: ArtifactURI, limits: FetchLimits, client: Any) -> Iterator[bytes]:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = uri.bucket_key
    try:
        response = client.get_object(Bucket=bucket, Key=key)
        size = int(response.get("ContentLength", 0))
        if size > limits.max_bytes:
            response["Body"].close()
            raise _too_large(uri.raw, size, limits.max_bytes)
        body = response["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "error")
        raise ArtifactUnavailableError(f"cannot download {uri.raw}: S3 answered {code}.") from None
    except BotoCoreError as err:
        raise ArtifactUnavailableError(f"cannot download {uri.raw}: {_short(err)}") from None


def _file_chunks(uri: ArtifactURI, limits: FetchLimits) -> Iterator[bytes]:
    path = uri.path
    if not path.is_file():  # also refuses folders and devices a report could name
        raise ArtifactUnavailableError(f"artifact {uri.raw} is not a file.")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise _too_large(uri.raw, size, limits.max_bytes)
    with path.open("rb") as fh:
        yield from iter(lambda: fh.read(CHUNK), b"")


def _short(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) < 300 else text[:297] + "..."


@dataclass
class Fetcher:
    """Fetches artifacts into ``cache_dir`` under ``limits``; see the module docstring.

    ``local_ok``: whether ``file://`` URIs may be read (a local chain). ``s3_client``: a
    factory of the boto3 client for ``s3://`` URIs (endpoint and keys of this reader).
    """

    cache_dir: Path
    limits: FetchLimits = field(default_factory=FetchLimits)
    local_ok: bool = False
    s3_client: ClientFactory | None = None
    _client: Any = None

    def cached(self, sha256: str) -> Path | None:
        path = Path(self.cache_dir) / hex_of(sha256)
        return path if path.is_file() else None

    def fetch(self, uri: str, sha256: str) -> Path:
        """The verified local file of the artifact ``sha256`` found at ``uri``."""
        expected = hex_of(sha256)
        hit = self.cached(expected)
        if hit is not None:
            return hit
        parsed = require_readable(uri, local_ok=self.local_ok)
        deadline = _Deadline(self.limits.deadline_s)
        attempt = 0
        while True:
            try:
                return self._attempt(parsed, expected, deadline)
            except ArtifactTooLargeError as err:
                logger.warning("artifact refused", extra=kv(uri=uri, error=str(err)))
                raise
            except ArtifactUnavailableError as err:
                attempt += 1
                pause = self.limits.pause(attempt - 1)
                if attempt >= self.limits.attempts or deadline.left() <= pause:
                    logger.warning(
                        "artifact unavailable",
                        extra=kv(uri=uri, attempts=attempt, error=str(err)),
                    )
                    raise ArtifactUnavailableError(
                        f"{err} (gave up after {attempt} attempt(s))"
                    ) from None
                logger.info(
                    "artifact fetch failed; retrying",
                    extra=kv(uri=uri, attempt=attempt, pause_s=pause, error=str(err)),
                )
                time.sleep(pause)

    def _chunks(self, uri: ArtifactURI, deadline: _Deadline) -> Iterator[bytes]:
        if uri.scheme == "file":
            return _file_chunks(uri, self.limits)
        if uri.scheme == "s3":
            return _s3_chunks(uri, self.limits, self._s3())
        return _http_chunks(uri, self.limits, deadline)

    def _s3(self) -> Any:
        if self._client is None:
            if self.s3_client is None:
                from offchain.artifacts.s3 import s3_client

                self._client = s3_client(limits=self.limits)
            else:
                self._client = self.s3_client()
        return self._client

    def _attempt(self, uri: ArtifactURI, expected: str, deadline: _Deadline) -> Path:
        cache = Path(self.cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        target = cache / expected
        tmp = cache / f".{expected}.{uuid.uuid4().hex[:8]}.part"
        digest, size = hashlib.sha256(), 0
        try:
            with tmp.open("wb") as out:
                for chunk in self._chunks(uri, deadline):
                    size += len(chunk)
                    if size > self.limits.max_bytes:
                        raise ArtifactTooLargeError(
                            f"artifact {uri.raw} is over the limit of {self.limits.max_bytes} "
                            "bytes."
                        )
                    deadline.check(uri.raw)
                    digest.update(chunk)
                    out.write(chunk)
            actual = digest.hexdigest()
            if actual != expected:
                raise ArtifactHashMismatchError(
                    f"artifact {uri.raw} hashes to 0x{actual}, not to the expected 0x{expected}.",
                    expected="0x" + expected,
                    actual="0x" + actual,
                )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        logger.info("artifact fetched", extra=kv(uri=uri.raw, sha256="0x" + expected, bytes=size))
        return target


def fetch_verified(
    uri: str,
    sha256: str,
    cache_dir: Path,
    *,
    limits: FetchLimits | None = None,
    local_ok: bool = False,
    s3_client: ClientFactory | None = None,
) -> Path:
    """One-shot :meth:`Fetcher.fetch` (builds the fetcher; reuse a :class:`Fetcher` instead
    when fetching many artifacts from S3)."""
    fetcher = Fetcher(
        cache_dir=Path(cache_dir),
        limits=limits or FetchLimits(),
        local_ok=local_ok,
        s3_client=s3_client,
    )
    return fetcher.fetch(uri, sha256)
