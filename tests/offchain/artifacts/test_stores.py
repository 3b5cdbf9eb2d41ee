"""The three stores behind one interface: put -> public URI, fetch URI + hash -> verified path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from offchain.artifacts import (
    ArtifactServer,
    ArtifactSettings,
    ArtifactStore,
    ArtifactURIError,
    LocalStore,
    fetch_verified,
    open_fetcher,
    open_store,
)
from offchain.artifacts.s3 import S3Store, s3_client

ADAPTER = b"loranet adapter bytes " * 4096  # ~88 KB


def _sha(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def _file(tmp_path: Path, data: bytes = ADAPTER) -> Path:
    path = tmp_path / "adapter.safetensors"
    path.write_bytes(data)
    return path


def _roundtrip(store: ArtifactStore, tmp_path: Path, **fetch_kw: object) -> Path:
    ref = store.put(_file(tmp_path))
    assert ref.sha256 == _sha(ADAPTER) and ref.size == len(ADAPTER)
    assert store.has(ref.sha256) and store.uri_for(ref.sha256) == ref.uri
    assert store.put(_file(tmp_path)) == ref  # idempotent
    got = fetch_verified(ref.uri, ref.sha256, tmp_path / "cache", **fetch_kw)  # type: ignore[arg-type]
    assert got.read_bytes() == ADAPTER and got.name == ref.sha256[2:]
    return got


def test_local_store_roundtrip_on_a_local_chain(tmp_path: Path) -> None:
    store = open_store(ArtifactSettings(), data_dir=tmp_path, chain_id=31337)
    assert isinstance(store, LocalStore) and store.kind == "local"
    ref = store.put(_file(tmp_path))
    assert ref.uri.startswith("file://") and ref.uri.endswith(ref.sha256[2:])
    _roundtrip(store, tmp_path, local_ok=True)
    # only files named by their hash: no temporary file left behind
    assert sorted(p.name for p in (tmp_path / "artifacts").iterdir()) == [ref.sha256[2:]]


@pytest.mark.parametrize("store", [None, "local", "file:///tmp/x"])
def test_file_store_refused_on_a_non_local_chain(tmp_path: Path, store: str | None) -> None:
    with pytest.raises(ArtifactURIError, match="LORANET_ARTIFACTS_STORE"):
        open_store(ArtifactSettings(store=store), data_dir=tmp_path, chain_id=11155111)


def test_file_uri_refused_for_reading_on_a_non_local_chain(tmp_path: Path) -> None:
    path = _file(tmp_path)
    fetcher = open_fetcher(ArtifactSettings(), data_dir=tmp_path, chain_id=8453, network="base")
    for uri in (path.as_uri(), str(path)):
        with pytest.raises(ArtifactURIError, match=r"only used on a local chain"):
            fetcher.fetch(uri, _sha(ADAPTER))
    local = open_fetcher(ArtifactSettings(), data_dir=tmp_path, network="local")
    assert local.fetch(path.as_uri(), _sha(ADAPTER)).read_bytes() == ADAPTER


def test_http_store_served_by_the_worker_server(tmp_path: Path) -> None:
    settings = ArtifactSettings(store="http", serve_port=0, dir=tmp_path / "mine")
    with ArtifactServer(settings.resolved_dir(tmp_path), "127.0.0.1", 0) as server:
        settings.public_url = server.url  # the port was picked by the OS
        store = open_store(settings, data_dir=tmp_path, chain_id=8453)
        assert store.kind == "http"
        got = _roundtrip(store, tmp_path)
        ref_uri = store.uri_for(_sha(ADAPTER))
        assert ref_uri == f"{server.url}/artifacts/{_sha(ADAPTER)[2:]}"
        head = httpx.head(ref_uri)
        assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(ADAPTER)
        assert got.stat().st_size == len(ADAPTER)


def test_s3_store_on_moto(s3_settings: ArtifactSettings, tmp_path: Path) -> None:
    store = open_store(s3_settings, data_dir=tmp_path, chain_id=11155111)
    assert isinstance(store, S3Store)
    ref = store.put(_file(tmp_path))
    assert ref.uri == f"s3://{store.bucket}/adapters/{ref.sha256[2:]}"
    fetcher = open_fetcher(s3_settings, data_dir=tmp_path, chain_id=11155111)
    assert fetcher.fetch(ref.uri, ref.sha256).read_bytes() == ADAPTER
    assert store.put_bytes(b"bundle").uri.endswith(_sha(b"bundle")[2:])
    keys = s3_client(s3_settings).list_objects_v2(Bucket=store.bucket)["Contents"]
    assert sorted(k["Key"] for k in keys) == sorted(
        f"adapters/{h[2:]}" for h in (ref.sha256, _sha(b"bundle"))
    )


def test_s3_store_with_a_public_http_base(
    s3_settings: ArtifactSettings, tmp_path: Path, moto_endpoint: str
) -> None:
    """A bucket published over HTTP (R2 public URL): URIs are https, readers need no keys."""
    store = open_store(s3_settings, data_dir=tmp_path, chain_id=1)
    assert isinstance(store, S3Store)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{store.bucket}/*",
            }
        ],
    }
    store.client.put_bucket_policy(Bucket=store.bucket, Policy=json.dumps(policy))
    s3_settings.public_url = f"{moto_endpoint}/{store.bucket}/adapters"
    public = open_store(s3_settings, data_dir=tmp_path, chain_id=1)
    ref = public.put(_file(tmp_path))
    assert ref.uri.startswith(moto_endpoint)
    assert fetch_verified(ref.uri, ref.sha256, tmp_path / "c").read_bytes() == ADAPTER


def test_missing_s3_object_is_unavailable(s3_settings: ArtifactSettings, tmp_path: Path) -> None:
    from offchain.artifacts import ArtifactUnavailableError

    fetcher = open_fetcher(s3_settings, data_dir=tmp_path, chain_id=1)
    bucket = str(s3_settings.store).removeprefix("s3://").split("/")[0]
    with pytest.raises(ArtifactUnavailableError, match="NoSuchKey"):
        fetcher.fetch(f"s3://{bucket}/adapters/{'ab' * 32}", "0x" + "ab" * 32)


def test_settings_section_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from offchain.settings import Settings

    monkeypatch.setenv("LORANET_ARTIFACTS_STORE", "s3://bucket/pfx")
    monkeypatch.setenv("LORANET_ARTIFACTS_MAX_BYTES", "1234")
    settings = Settings(artifacts={"serve_port": 9001, "store": "http"})
    assert settings.artifacts.store == "s3://bucket/pfx"  # the variable wins over the file
    assert settings.artifacts.serve_port == 9001 and settings.artifacts.limits().max_bytes == 1234
