"""Fetch an artifact by URI into a local cache: a plain path, ``file://`` or ``http(s)://``."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import requests

from offchain.validator.errors import FetchError

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 30.0
MAX_BYTES = 512 * 1024 * 1024


def local_path(uri: str) -> Path | None:
    """The local file a path or ``file://`` URI names; ``None`` for remote URIs."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(uri)
    return None


def sibling_uri(uri: str, name: str) -> str:
    """The URI of file ``name`` in the same folder as ``uri`` (same scheme)."""
    head, _, _ = uri.rpartition("/")
    return f"{head}/{name}" if head else name


def fetch(uri: str, cache_dir: Path) -> Path:
    """A local path holding the bytes behind ``uri`` (remote files are downloaded once).

    Raises :class:`FetchError` with one readable sentence when the file cannot be had.
    """
    path = local_path(uri)
    if path is not None:
        if not path.is_file():  # also refuses devices and folders a report could name
            raise FetchError(f"artifact {uri} does not exist.")
        if path.stat().st_size > MAX_BYTES:
            raise FetchError(f"artifact {uri} is larger than {MAX_BYTES} bytes.")
        return path
    parsed = urlparse(uri)
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"artifact URI {uri!r} has an unsupported scheme (file, http, https).")
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / (hashlib.sha256(uri.encode()).hexdigest() + Path(parsed.path).suffix)
    if target.is_file():
        return target
    tmp = target.with_suffix(target.suffix + ".part")
    try:
        with requests.get(uri, stream=True, timeout=HTTP_TIMEOUT_S) as response:
            response.raise_for_status()
            size = 0
            with tmp.open("wb") as out:
                for chunk in response.iter_content(1 << 20):
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise FetchError(f"artifact {uri} is larger than {MAX_BYTES} bytes.")
                    out.write(chunk)
    except requests.RequestException as err:
        tmp.unlink(missing_ok=True)
        raise FetchError(f"cannot download {uri}: {err}") from None
    shutil.move(tmp, target)
    logger.info("fetched %s -> %s", uri, target)
    return target
