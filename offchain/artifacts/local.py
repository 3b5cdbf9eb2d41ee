"""A folder of artifacts named by hash: the ``local`` store (``file://`` URIs, local chains
only) and the ``http`` store (the same folder, served by :mod:`offchain.artifacts.server`).

A put copies the bytes into a temporary file of the folder (a name starting with ``.``, which
no hash has) while hashing them, then renames it to ``<sha256 hex>``: the folder never holds a
file under a name it does not hash to, and a crash leaves at most a stray temporary file.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from offchain.artifacts.digest import CHUNK, hex_of, sha256_file
from offchain.artifacts.errors import ArtifactError, ArtifactHashMismatchError
from offchain.artifacts.store import ArtifactRef
from offchain.logging import kv

logger = logging.getLogger(__name__)


def _write_hashed(root: Path, chunks: Iterable[bytes]) -> tuple[Path, str, int]:
    """Write ``chunks`` (an iterable of bytes) into a temporary file of ``root``, hashing them."""
    import hashlib

    root.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=root, prefix=".put-", suffix=".tmp")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name), "0x" + digest.hexdigest(), size


def _file_chunks(path: Path) -> Iterator[bytes]:
    with Path(path).open("rb") as fh:
        yield from iter(lambda: fh.read(CHUNK), b"")


class LocalStore:
    """Artifacts in ``root/<sha256 hex>``; URIs ``file://...`` or ``<base_url>/<hex>``."""

    def __init__(self, root: Path, *, base_url: str | None = None, kind: str = "local") -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.kind = kind

    def path_for(self, digest: str) -> Path:
        return self.root / hex_of(digest)

    def uri_for(self, digest: str) -> str:
        if self.base_url is not None:
            return f"{self.base_url}/{hex_of(digest)}"
        return self.path_for(digest).resolve().as_uri()

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def _commit(self, tmp: Path, digest: str, size: int) -> ArtifactRef:
        target = self.path_for(digest)
        if target.is_file():
            tmp.unlink(missing_ok=True)
        else:
            os.replace(tmp, target)
            logger.info("artifact stored", extra=kv(store=self.kind, sha256=digest, bytes=size))
        return ArtifactRef(uri=self.uri_for(digest), sha256=digest, size=size)

    def put(self, path: Path) -> ArtifactRef:
        source = Path(path)
        if not source.is_file():
            raise ArtifactError(f"cannot store {source}: it is not a file.")
        tmp, digest, size = _write_hashed(self.root, _file_chunks(source))
        return self._commit(tmp, digest, size)

    def put_bytes(self, data: bytes) -> ArtifactRef:
        tmp, digest, size = _write_hashed(self.root, [data])
        return self._commit(tmp, digest, size)

    def get(self, digest: str) -> Path:
        """The stored file with ``digest``, after checking that it still hashes to it."""
        target = self.path_for(digest)
        if not target.is_file():
            raise ArtifactError(f"no artifact {digest} in {self.root}.")
        actual = sha256_file(target)
        if hex_of(actual) != hex_of(digest):
            raise ArtifactHashMismatchError(
                f"stored artifact {target} hashes to {actual}: the folder is corrupt.",
                expected=digest,
                actual=actual,
            )
        return target
