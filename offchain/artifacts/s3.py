"""The ``s3://bucket/prefix`` store: any S3-compatible service (AWS S3, Cloudflare R2, MinIO)
through boto3. An artifact is the object ``<prefix>/<sha256 hex>``.

A put hashes the file, skips the upload when the object exists, uploads with S3's own SHA-256
integrity check (``ChecksumAlgorithm=SHA256``), then hashes the file again: if it changed
during the upload the object is deleted, so the bucket never keeps bytes under a name they do
not hash to.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from offchain.artifacts.digest import hex_of, sha256_bytes, sha256_file
from offchain.artifacts.errors import ArtifactError, ArtifactUploadError, ArtifactURIError
from offchain.artifacts.limits import FetchLimits
from offchain.artifacts.store import ArtifactRef
from offchain.logging import kv

if TYPE_CHECKING:
    from offchain.artifacts.settings import ArtifactSettings

logger = logging.getLogger(__name__)


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> ``(bucket, prefix without slashes)``."""
    parsed = urlparse(uri.strip())
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ArtifactURIError(f"{uri!r} is not an s3://bucket/prefix URI.")
    return parsed.netloc, parsed.path.strip("/")


def s3_client(settings: ArtifactSettings | None = None, limits: FetchLimits | None = None) -> Any:
    """A boto3 S3 client from the settings (endpoint, region, keys) or the AWS chain.

    boto3's own retries are off: callers retry with their bounded backoff. Without any
    credentials the client reads anonymously (public buckets).
    """
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    from offchain.artifacts.settings import ArtifactSettings

    settings = settings or ArtifactSettings()
    limits = limits or settings.limits()
    secret = settings.s3_secret_access_key
    session = boto3.session.Session(
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret is not None else None,
        region_name=settings.s3_region,
    )
    options: dict[str, Any] = {
        "connect_timeout": limits.connect_timeout_s,
        "read_timeout": limits.read_timeout_s,
        "retries": {"max_attempts": 1, "mode": "standard"},
        "s3": {"addressing_style": settings.s3_addressing_style},
    }
    if session.get_credentials() is None:
        options["signature_version"] = UNSIGNED
    return session.client("s3", endpoint_url=settings.s3_endpoint_url, config=Config(**options))


class S3Store:
    """Artifacts as objects ``<prefix>/<hex>`` of ``bucket``; URIs ``s3://bucket/<key>`` (or
    ``<public_url>/<hex>`` when the prefix is also published over HTTP)."""

    kind = "s3"

    def __init__(
        self, bucket: str, prefix: str, client: Any, *, public_url: str | None = None
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.public_url = public_url.rstrip("/") if public_url else None

    @classmethod
    def from_settings(cls, uri: str, settings: ArtifactSettings) -> S3Store:
        bucket, prefix = split_s3(uri)
        return cls(bucket, prefix, s3_client(settings), public_url=settings.public_url)

    def key_for(self, digest: str) -> str:
        return f"{self.prefix}/{hex_of(digest)}" if self.prefix else hex_of(digest)

    def uri_for(self, digest: str) -> str:
        if self.public_url is not None:
            return f"{self.public_url}/{hex_of(digest)}"
        return f"s3://{self.bucket}/{self.key_for(digest)}"

    def has(self, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key_for(digest))
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise ArtifactError(f"cannot read s3://{self.bucket}: {err}") from None
        return True

    def _upload(self, digest: str, size: int, upload: Any) -> ArtifactRef:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key_for(digest)
        try:
            if not self.has(digest):
                upload(key)
                logger.info(
                    "artifact stored",
                    extra=kv(store="s3", bucket=self.bucket, key=key, sha256=digest, bytes=size),
                )
        except (BotoCoreError, ClientError) as err:
            raise ArtifactUploadError(f"cannot upload to s3://{self.bucket}/{key}: {err}") from None
        return ArtifactRef(uri=self.uri_for(digest), sha256=digest, size=size)

    def put(self, path: Path) -> ArtifactRef:
        source = Path(path)
        if not source.is_file():
            raise ArtifactError(f"cannot store {source}: it is not a file.")
        digest, size = sha256_file(source), source.stat().st_size
        extra = {"ChecksumAlgorithm": "SHA256", "ContentType": "application/octet-stream"}

        def upload(key: str) -> None:
            self.client.upload_file(str(source), self.bucket, key, ExtraArgs=extra)
            if sha256_file(source) != digest:  # the file changed while it was uploaded
                self.client.delete_object(Bucket=self.bucket, Key=key)
                raise ArtifactError(f"{source} changed while it was uploaded; nothing stored.")

        return self._upload(digest, size, upload)

    def put_bytes(self, data: bytes) -> ArtifactRef:
        digest = sha256_bytes(data)

        def upload(key: str) -> None:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ChecksumAlgorithm="SHA256",
                ContentType="application/octet-stream",
            )

        return self._upload(digest, len(data), upload)
