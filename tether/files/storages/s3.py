"""Storage in an S3 bucket, on AWS or any S3-compatible service, through s3fs."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from tether.exceptions import ImproperlyConfigured
from tether.files.storages._config import setting
from tether.files.storages._object import Failure, ObjectStorage
from tether.utils import install_hint

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["S3Storage"]

_AWS = "https://s3.amazonaws.com"


class S3Storage(ObjectStorage):
    """Files under a prefix of an S3 bucket.

    The filesystem is built from settings: `AWS_S3_ENDPOINT_URL`,
    `AWS_S3_REGION_NAME`, `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`
    (each None falls back to boto's usual lookup: `AWS_ENDPOINT_URL`,
    `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`... in the environment,
    `~/.aws`, an instance role), with `STORAGE_CONNECT_TIMEOUT`,
    `STORAGE_READ_TIMEOUT` and `STORAGE_MAX_ATTEMPTS` bounding every request.

    Writes are single PUTs, or multipart uploads in parts of `block_size`
    completed on close and aborted on failure; copies are server-side.

    Example:
        S3Storage("s3://my-bucket/project/data")
        S3Storage("data/")  # with AWS_STORAGE_BUCKET_NAME = "my-bucket"

    Args:
        root: `s3://bucket/prefix`, or a prefix in the bucket named by
            `AWS_STORAGE_BUCKET_NAME`.
        **options: keyword arguments of `s3fs.S3FileSystem` (`STORAGE_OPTIONS`),
            laid over what the settings give.

    Raises:
        ImproperlyConfigured: s3fs is not installed, no bucket is named, or
            the root is not an S3 location.
    """

    protocols = ("s3", "s3a")
    endpoint_setting = "AWS_S3_ENDPOINT_URL"
    bucket_setting = "AWS_STORAGE_BUCKET_NAME"

    def _filesystem(self, options: dict[str, Any]) -> AbstractFileSystem:
        try:
            from tether.files.storages._s3fs import BoundedS3FileSystem
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"S3Storage needs the s3fs package; run {install_hint('s3fs')}"
            ) from exc
        config = {
            "connect_timeout": setting("STORAGE_CONNECT_TIMEOUT"),
            "read_timeout": setting("STORAGE_READ_TIMEOUT"),
            "retries": {"total_max_attempts": setting("STORAGE_MAX_ATTEMPTS"), "mode": "standard"},
        }
        chosen: dict[str, Any] = {"use_listings_cache": False}
        if setting("AWS_S3_ENDPOINT_URL"):
            chosen["endpoint_url"] = setting("AWS_S3_ENDPOINT_URL")
        if setting("AWS_S3_REGION_NAME"):
            chosen["client_kwargs"] = {"region_name": setting("AWS_S3_REGION_NAME")}
        if setting("AWS_ACCESS_KEY_ID"):
            chosen["key"] = setting("AWS_ACCESS_KEY_ID")
        if setting("AWS_SECRET_ACCESS_KEY"):
            chosen["secret"] = setting("AWS_SECRET_ACCESS_KEY")
        chosen.update(options)
        chosen["config_kwargs"] = {**config, **(options.get("config_kwargs") or {})}
        self.endpoint = (
            chosen.get("endpoint_url")
            or (chosen.get("client_kwargs") or {}).get("endpoint_url")
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
            or _AWS
        )
        try:
            return BoundedS3FileSystem(**chosen)
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(
                f"S3Storage rejected its options ({exc}); fix STORAGE_OPTIONS"
            ) from exc

    async def _head(self, full: str) -> bool:
        bucket, _, key = full.partition("/")
        if not key:
            return False
        try:
            await self.fs._call_s3("head_object", Bucket=bucket, Key=key)
        except FileNotFoundError:
            return False
        return True

    async def _has_children(self, full: str) -> bool:
        bucket, _, key = full.partition("/")
        found = await self.fs._call_s3(
            "list_objects_v2", Bucket=bucket, Prefix=f"{key}/" if key else "", MaxKeys=1
        )
        return bool(found.get("KeyCount") or found.get("Contents"))

    def _failure(self, exc: BaseException) -> Failure | None:
        from botocore import exceptions as boto

        if isinstance(exc, boto.ConnectTimeoutError | boto.ReadTimeoutError | TimeoutError):
            return "timeout"
        if isinstance(exc, asyncio.TimeoutError):
            return "timeout"
        if isinstance(exc, boto.ConnectionError | boto.HTTPClientError | ConnectionError):
            return "connection"
        if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
            return "permission"
        return None

    def _credentials_hint(self) -> str:
        return (
            "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (in settings, or boto's"
            " environment variables and ~/.aws profile) and what they are allowed in the bucket"
        )

    def _create_bucket_hint(self) -> str:
        endpoint = "" if self.endpoint == _AWS else f" --endpoint-url {self.endpoint}"
        return f"aws s3 mb s3://{self.bucket}{endpoint}"
