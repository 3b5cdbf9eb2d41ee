"""Content hashes of model folders and data sets, the ``loranet hash`` command, and folders
rebuilt from a content-addressed store by hash."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offchain.cli.main import app
from trainer.content_hash import (
    content_hash,
    folder_manifest,
    manifest_bytes,
    materialize,
    publish_folder,
)
from trainer.errors import ContentHashError


def _folder(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"model_type": "llama"}')
    (root / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 10)
    return root


def test_file_hash_is_sha256_of_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"text": "a"}\n')
    assert content_hash(path) == "0x" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_folder_hash_depends_on_content_and_names_only(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a")
    digest = content_hash(a)
    assert digest == "0x" + hashlib.sha256(manifest_bytes(folder_manifest(a))).hexdigest()
    b = tmp_path / "b"
    shutil.copytree(a, b)
    os.utime(b / "config.json", (1, 1))
    (b / ".git").mkdir()
    (b / ".git" / "HEAD").write_text("ref")
    (b / ".gitattributes").write_text("*.bin lfs")
    assert content_hash(b) == digest  # times and dotfiles do not count
    (b / "sub" / "weights.bin").write_bytes(b"\x00" + (b / "sub" / "weights.bin").read_bytes())
    assert content_hash(b) != digest
    shutil.rmtree(b)
    shutil.copytree(a, b)
    (b / "config.json").rename(b / "config2.json")
    assert content_hash(b) != digest
    manifest = json.loads(manifest_bytes(folder_manifest(a)))
    assert [f["path"] for f in manifest["files"]] == ["config.json", "sub/weights.bin"]
    with pytest.raises(ContentHashError, match="does not exist"):
        content_hash(tmp_path / "nowhere")


def test_hash_command_prints_the_on_chain_hash(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "m")
    result = CliRunner().invoke(app, ["hash", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["hash"] == content_hash(folder)
    assert (summary["kind"], summary["files"]) == ("folder", 2)
    missing = CliRunner().invoke(app, ["hash", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert "Traceback" not in missing.output


class _Store:
    """A content-addressed folder with a verifying fetch, as the artifact stores behave."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        self.fetched: list[str] = []

    def put_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / digest).write_bytes(data)
        return f"file://{self.root}/{digest}"

    def put_file(self, path: Path) -> str:
        return self.put_bytes(path.read_bytes())

    def fetch(self, uri: str, sha256: str) -> Path:
        self.fetched.append(uri)
        path = Path(uri.removeprefix("file://"))
        if hashlib.sha256(path.read_bytes()).hexdigest() != sha256.removeprefix("0x"):
            raise ContentHashError(f"{uri} does not hash to {sha256}")
        return path


def _sibling(uri: str, name: str) -> str:
    return uri.rpartition("/")[0] + "/" + name


def test_folder_travels_through_a_store_by_hash(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "model")
    store = _Store(tmp_path / "store")
    uri = publish_folder(folder, store.put_file, store.put_bytes)
    digest = content_hash(folder)
    assert uri.endswith(digest.removeprefix("0x"))
    out = materialize(uri, digest, store.fetch, _sibling, tmp_path / "cache")
    assert out.is_dir() and content_hash(out) == digest
    assert (out / "sub" / "weights.bin").read_bytes() == (folder / "sub/weights.bin").read_bytes()
    again = materialize(uri, digest, store.fetch, _sibling, tmp_path / "cache")
    assert again == out
    # a data file is a plain artifact
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "x"}\n')
    data_uri = store.put_file(data)
    assert materialize(data_uri, content_hash(data), store.fetch, _sibling, tmp_path / "c2")
    # a tampered file inside the folder is refused
    weights = hashlib.sha256((folder / "sub/weights.bin").read_bytes()).hexdigest()
    (store.root / weights).write_bytes(b"tampered")
    with pytest.raises(ContentHashError):
        materialize(uri, digest, store.fetch, _sibling, tmp_path / "cache3")
