"""API keys of the gateway, hashed at rest.

A key is ``lnk_`` followed by 43 random URL-safe characters (32 bytes from :mod:`secrets`).
Only its SHA-256 is stored (a key has 256 bits of entropy, so a slow hash adds nothing), in
a JSON file written atomically with mode 0600, together with an id (``key_`` + 8 hex), a
name, the first characters of the key (to recognise it), creation and revocation times.
The plain key is shown once, by ``loranet keys create``, and never logged.

The gateway re-reads the file when it changes, so keys created or revoked while it runs take
effect on the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from offchain.gateway.errors import KeyStoreError
from offchain.logging import kv

logger = logging.getLogger(__name__)

KEY_PREFIX = "lnk_"
_SHOWN_CHARS = 8


@dataclass(frozen=True)
class ApiKeyRecord:
    """What is stored about one key (never the key itself)."""

    id: str
    name: str
    prefix: str
    sha256: str
    created_at: float
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """The key file: create, list, revoke, verify."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache: tuple[float, int, dict[str, ApiKeyRecord]] | None = None

    def _read(self) -> dict[str, ApiKeyRecord]:
        """Records by id; cached until the file's mtime or size changes."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        if self._cache and self._cache[:2] == (stat.st_mtime, stat.st_size):
            return self._cache[2]
        try:
            raw = json.loads(self.path.read_text())
            records = {r["id"]: ApiKeyRecord(**r) for r in raw["keys"]}
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise KeyStoreError(f"API key file {self.path} is unreadable: {err}") from None
        self._cache = (stat.st_mtime, stat.st_size, records)
        return records

    def _write(self, records: dict[str, ApiKeyRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"keys": [asdict(r) for r in records.values()]}, indent=2)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keys.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._cache = None

    def create(self, name: str) -> tuple[str, ApiKeyRecord]:
        """A new key and its record; the key is not stored and cannot be shown again."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            id="key_" + secrets.token_hex(4),
            name=name,
            prefix=key[: len(KEY_PREFIX) + _SHOWN_CHARS],
            sha256=hash_key(key),
            created_at=time.time(),
        )
        with self._lock:
            records = dict(self._read())
            records[record.id] = record
            self._write(records)
        logger.info("api key created", extra=kv(key_id=record.id, name=name))
        return key, record

    def list(self) -> list[ApiKeyRecord]:
        return sorted(self._read().values(), key=lambda r: r.created_at)

    def revoke(self, key_id: str) -> ApiKeyRecord:
        with self._lock:
            records = dict(self._read())
            record = records.get(key_id)
            if record is None:
                raise KeyStoreError(f"no API key with id {key_id} in {self.path}.")
            if record.active:
                record = ApiKeyRecord(**{**asdict(record), "revoked_at": time.time()})
                records[key_id] = record
                self._write(records)
                logger.info("api key revoked", extra=kv(key_id=key_id))
        return record

    def verify(self, key: str) -> ApiKeyRecord | None:
        """The active record of ``key``, or None (compared in constant time per record)."""
        if not key.startswith(KEY_PREFIX):
            return None
        digest = hash_key(key)
        found = None
        for record in self._read().values():
            if hmac.compare_digest(record.sha256, digest) and record.active:
                found = record
        return found
