"""Content hashes of a pool's base model and data set, files or folders, and their manifests.

* a **file** hashes to ``0x`` + SHA-256 of its bytes (what every artifact store names it by);
* a **folder** hashes to the SHA-256 of its **manifest**: the canonical JSON (sorted keys, no
  spaces, UTF-8)::

      {"files":[{"path":"config.json","sha256":"<hex>","size":680},...],"loranet_folder":1}

  listing every regular file under the folder (symbolic links followed) by its POSIX path
  relative to the folder, sorted by path, except names starting with ``.`` at any depth
  (``.git``, ``.cache``, ``.gitattributes``: tool state, not content). File times, modes and
  owners do not count, so the same files give the same hash on every machine.

A folder travels through a content-addressed artifact store as its files (each named by its
hash) plus the manifest (named by the folder's hash): :func:`publish_folder` puts them,
:func:`materialize` rebuilds the folder from a fetch function that verifies each hash.
``loranet hash PATH`` prints the hash a pool creator puts on chain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from trainer.errors import ContentHashError

logger = logging.getLogger(__name__)

MANIFEST_VERSION = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    sha256: str  # hex, no 0x
    size: int


def sha256_file(path: Path) -> str:
    """``0x`` + SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return "0x" + digest.hexdigest()


def _walk(root: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files.extend(Path(dirpath) / f for f in filenames if not f.startswith("."))
    return files


def folder_manifest(root: Path) -> list[ManifestEntry]:
    """The folder's files (see the module doc), sorted by relative POSIX path."""
    entries = []
    for path in _walk(root):
        if not path.is_file():
            continue
        rel = PurePosixPath(*path.relative_to(root).parts).as_posix()
        entries.append(
            ManifestEntry(rel, sha256_file(path).removeprefix("0x"), path.stat().st_size)
        )
    entries.sort(key=lambda e: e.path)
    if not entries:
        raise ContentHashError(f"{root} holds no files to hash.")
    return entries


def manifest_bytes(entries: list[ManifestEntry]) -> bytes:
    """The canonical manifest JSON."""
    data = {
        "files": [{"path": e.path, "sha256": e.sha256, "size": e.size} for e in entries],
        "loranet_folder": MANIFEST_VERSION,
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(path: Path) -> str:
    """``0x`` + hex content hash of a file or folder (see the module doc)."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    if path.is_dir():
        return "0x" + hashlib.sha256(manifest_bytes(folder_manifest(path))).hexdigest()
    raise ContentHashError(f"{path} does not exist.")


def parse_manifest(data: bytes) -> list[ManifestEntry] | None:
    """The entries of a folder manifest, or ``None`` when ``data`` is not one."""
    if not data.startswith(b'{"files":'):
        return None
    try:
        obj: Any = json.loads(data)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("loranet_folder") != MANIFEST_VERSION:
        return None
    entries = []
    for item in obj.get("files", []):
        rel = PurePosixPath(str(item["path"]))
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ContentHashError(f"The folder manifest names an unsafe path {rel}.")
        entries.append(ManifestEntry(rel.as_posix(), str(item["sha256"]), int(item["size"])))
    return entries


#: ``fetch(uri, sha256) -> local file`` whose bytes hash to ``sha256`` (raises otherwise).
FetchFn = Callable[[str, str], Path]
#: ``uri_of(manifest_uri, file_sha256) -> uri`` of a file beside the manifest in its store.
SiblingFn = Callable[[str, str], str]


def materialize(
    uri: str, expected: str, fetch: FetchFn, sibling: SiblingFn, dest_root: Path
) -> Path:
    """The local file or folder that ``uri`` names, verified against ``expected``.

    The artifact at ``uri`` is fetched and checked by ``fetch``; when it is a folder manifest,
    each file is fetched beside it by its own hash and the folder is assembled (once) under
    ``dest_root/<expected hex>``, whose content hash is checked again before it is used.
    """
    path = Path(fetch(uri, expected))
    head = path.open("rb").read(16)
    if not head.startswith(b'{"files":'):
        return path
    entries = parse_manifest(path.read_bytes())
    if entries is None:
        return path
    folder = Path(dest_root) / expected.removeprefix("0x")
    if folder.is_dir():
        return folder
    tmp = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    for entry in entries:
        source = Path(fetch(sibling(uri, entry.sha256), "0x" + entry.sha256))
        target = tmp / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    actual = content_hash(tmp)
    if actual != "0x" + expected.removeprefix("0x"):
        shutil.rmtree(tmp, ignore_errors=True)
        raise ContentHashError(f"The folder assembled from {uri} hashes to {actual}.")
    tmp.rename(folder)
    logger.info("folder materialized uri=%s files=%d path=%s", uri, len(entries), folder)
    return folder


def publish_folder(root: Path, put_file: Callable[[Path], Any], put_bytes: Any) -> Any:
    """Put every file of ``root`` and then its manifest into a store; the manifest's ref.

    ``put_file(path)`` / ``put_bytes(data)`` are the store's (content-addressed) puts; the
    returned ref (of the manifest) is named by :func:`content_hash` of ``root``.
    """
    entries = folder_manifest(root)
    for entry in entries:
        put_file(root / entry.path)
    return put_bytes(manifest_bytes(entries))
