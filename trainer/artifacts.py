"""Adapter artifacts: canonical safetensors bytes, SHA-256 content hash, content-addressed store.

Canonical form (what makes identical weights give identical bytes and hash on every
machine): every tensor converted to float32, C-contiguous, little-endian; tensors laid out in
ascending key order; the JSON header written with sorted keys, no whitespace, no
``__metadata__`` (nothing that varies, no timestamps), padded with spaces to a multiple of 8
bytes as the safetensors format asks. The file is an ordinary safetensors file that
``safetensors.torch.load_file`` reads. The hash is ``"0x" + sha256(file bytes)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch

from trainer.errors import ArtifactError, ArtifactHashMismatchError, ArtifactNotFoundError

logger = logging.getLogger(__name__)

SUFFIX = ".safetensors"


def canonical_adapter_bytes(state: Mapping[str, torch.Tensor]) -> bytes:
    """Serialise ``state`` to the canonical safetensors bytes described in the module doc."""
    if not state:
        raise ArtifactError("Cannot save an empty adapter (no tensors).")
    header: dict[str, object] = {}
    blobs: list[bytes] = []
    offset = 0
    for key in sorted(state):
        tensor = state[key].detach().to("cpu", torch.float32).contiguous()
        blob = tensor.numpy().astype("<f4", copy=False).tobytes(order="C")
        header[key] = {
            "data_offsets": [offset, offset + len(blob)],
            "dtype": "F32",
            "shape": list(tensor.shape),
        }
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(blobs)


def _state_of(
    model_or_state: torch.nn.Module | Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    if isinstance(model_or_state, torch.nn.Module):
        from trainer.models import lora_state

        return lora_state(model_or_state)
    return dict(model_or_state)


def adapter_hash(path_or_bytes: Path | str | bytes) -> str:
    """``"0x"`` + SHA-256 hex of an artifact's bytes (or of the file at a path)."""
    if isinstance(path_or_bytes, bytes | bytearray):
        return "0x" + hashlib.sha256(path_or_bytes).hexdigest()
    digest = hashlib.sha256()
    with Path(path_or_bytes).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return "0x" + digest.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_adapter(model_or_state: torch.nn.Module | Mapping[str, torch.Tensor], path: Path) -> str:
    """Write an adapter (peft model or state dict) canonically; return its hash."""
    data = canonical_adapter_bytes(_state_of(model_or_state))
    _atomic_write(Path(path), data)
    digest = adapter_hash(data)
    logger.debug("saved adapter path=%s hash=%s bytes=%d", path, digest, len(data))
    return digest


def load_adapter_state(path: Path) -> dict[str, torch.Tensor]:
    """Read an adapter file back into fp32 CPU tensors, keys in canonical order."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ArtifactNotFoundError(f"Adapter file {path} does not exist.")
    try:
        state = load_file(str(path), device="cpu")
    except SafetensorError as err:
        raise ArtifactError(f"Adapter file {path} is not a valid safetensors file: {err}") from err
    return {k: state[k].to(torch.float32).contiguous() for k in sorted(state)}


def _normalise_hash(digest: str) -> str:
    hexpart = digest.lower().removeprefix("0x")
    if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise ArtifactError(f"{digest!r} is not a SHA-256 hash (0x followed by 64 hex digits).")
    return hexpart


class ArtifactStore:
    """Content-addressed adapter store in a local folder: ``<root>/<sha256 hex>.safetensors``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, digest: str) -> Path:
        """Where the artifact with ``digest`` lives (whether or not it is there)."""
        return self.root / f"{_normalise_hash(digest)}{SUFFIX}"

    def has(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def put(self, source: Path | bytes) -> str:
        """Store a file's bytes (or raw bytes); return its hash. Storing twice is a no-op."""
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        digest = adapter_hash(data)
        target = self.path_for(digest)
        if not target.is_file():
            _atomic_write(target, data)
            logger.info("artifact stored hash=%s bytes=%d", digest, len(data))
        return digest

    def get(self, digest: str) -> Path:
        """The path of the artifact with ``digest``, after checking its bytes hash to it."""
        target = self.path_for(digest)
        if not target.is_file():
            raise ArtifactNotFoundError(f"No artifact with hash {digest} in {self.root}.")
        actual = adapter_hash(target)
        if actual != "0x" + _normalise_hash(digest):
            raise ArtifactHashMismatchError(
                f"Artifact {target} hashes to {actual}, not to {digest}: it is corrupt."
            )
        return target
