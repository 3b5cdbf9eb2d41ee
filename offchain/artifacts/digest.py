"""SHA-256 content hashes as loranet writes them: ``"0x" + sha256(bytes).hexdigest()``.

The same definition as ``trainer.artifacts.adapter_hash``; an artifact's name in every store
is the 64 hex digits without the prefix.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from offchain.artifacts.errors import ArtifactURIError

CHUNK = 1 << 20
_HEX = re.compile(r"^[0-9a-f]{64}$")


def hex_of(digest: str) -> str:
    """The 64 lower-case hex digits of a ``0x``-prefixed (or bare) SHA-256 hash."""
    text = digest.strip().lower().removeprefix("0x")
    if not _HEX.match(text):
        raise ArtifactURIError(f"{digest!r} is not a SHA-256 hash (0x and 64 hex digits).")
    return text


def is_hex_digest(text: str) -> bool:
    return bool(_HEX.match(text))


def normalize(digest: str) -> str:
    """``"0x"`` + 64 lower-case hex digits."""
    return "0x" + hex_of(digest)


def sha256_bytes(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return "0x" + digest.hexdigest()


def same(a: str, b: str) -> bool:
    return a.strip().lower().removeprefix("0x") == b.strip().lower().removeprefix("0x")
