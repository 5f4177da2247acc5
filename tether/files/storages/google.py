"""Storage in a Google Cloud Storage bucket, or an emulator of it, through gcsfs."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from tether.exceptions import ImproperlyConfigured
from tether.files.storages._config import setting
from tether.files.storages._object import Failure, ObjectStorage, one_line
from tether.utils import install_hint

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["GoogleStorage"]

_GOOGLE = "https://storage.googleapis.com"


def _emulator_host() -> str:
    """The emulator that `STORAGE_EMULATOR_HOST` names, as a URL, or `""`."""
    host = os.environ.get("STORAGE_EMULATOR_HOST", "")
    if host in ("", "default"):
        return ""
    return host if host.startswith(("http://", "https://")) else f"http://{host}"


def _credentials_file(path: str, source: str) -> str:
    # gcsfs takes a string that is not a file for an access token and sends it
    # to Google to be checked; a mistyped path must fail here instead.
    if not os.path.isfile(path):
        raise ImproperlyConfigured(
            f"{source} = {path!r}: no such file; point it at a service-account key file (JSON)"
        )
    return path


class GoogleStorage(ObjectStorage):
    """Files under a prefix of a Google Cloud Storage bucket.

    The filesystem is built from settings: `GOOGLE_CLOUD_PROJECT`,
    `GOOGLE_APPLICATION_CREDENTIALS` (a key file; None: the default
    application credentials) and `GOOGLE_GCS_ENDPOINT_URL` (None:
    `STORAGE_EMULATOR_HOST` if set, else Google), with
    `STORAGE_CONNECT_TIMEOUT`, `STORAGE_READ_TIMEOUT` and
    `STORAGE_MAX_ATTEMPTS` bounding every request. Requests to an emulator
    without credentials are anonymous.

    Writes are single uploads, or resumable uploads in chunks of
    `block_size` finalized on close and cancelled on failure; copies are
    server-side rewrites.

    Example:
        GoogleStorage("gs://mybucket-1234/data")
        GoogleStorage("data/")  # with GOOGLE_GCS_BUCKET = "mybucket-1234"

    Args:
        root: `gs://bucket/prefix`, or a prefix in the bucket named by
            `GOOGLE_GCS_BUCKET`.
        **options: keyword arguments of `gcsfs.GCSFileSystem` (`STORAGE_OPTIONS`),
            laid over what the settings give.

    Raises:
        ImproperlyConfigured: gcsfs is not installed, no bucket is named, the
            root is not a GCS location, or the credentials file is unusable.
    """

    protocols = ("gs", "gcs")
    endpoint_setting = "GOOGLE_GCS_ENDPOINT_URL"
    bucket_setting = "GOOGLE_GCS_BUCKET"

    def _filesystem(self, options: dict[str, Any]) -> AbstractFileSystem:
        try:
            from aiohttp import ClientTimeout

            from tether.files.storages._gcsfs import BoundedGCSFileSystem
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"GoogleStorage needs the gcsfs package; run {install_hint('gcsfs')}"
            ) from exc
        chosen: dict[str, Any] = {
            "use_listings_cache": False,
            "attempts": setting("STORAGE_MAX_ATTEMPTS"),
            "requests_timeout": ClientTimeout(
                total=None,
                sock_connect=setting("STORAGE_CONNECT_TIMEOUT"),
                sock_read=setting("STORAGE_READ_TIMEOUT"),
            ),
        }
        if setting("GOOGLE_CLOUD_PROJECT"):
            chosen["project"] = setting("GOOGLE_CLOUD_PROJECT")
        if setting("GOOGLE_GCS_ENDPOINT_URL"):
            chosen["endpoint_url"] = setting("GOOGLE_GCS_ENDPOINT_URL")
        if setting("GOOGLE_APPLICATION_CREDENTIALS"):
            chosen["token"] = _credentials_file(
                setting("GOOGLE_APPLICATION_CREDENTIALS"), "GOOGLE_APPLICATION_CREDENTIALS"
            )
        chosen.update(options)
        self.endpoint = chosen.get("endpoint_url") or _emulator_host() or _GOOGLE
        if "token" not in chosen:
            if self.endpoint != _GOOGLE:
                chosen["token"] = "anon"
            elif os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
                _credentials_file(
                    os.environ["GOOGLE_APPLICATION_CREDENTIALS"],
                    "the environment variable GOOGLE_APPLICATION_CREDENTIALS",
                )
        try:
            return BoundedGCSFileSystem(**chosen)
        except TypeError as exc:
            raise ImproperlyConfigured(
                f"GoogleStorage rejected its options ({exc}); fix STORAGE_OPTIONS"
            ) from exc
        except Exception as exc:
            raise ImproperlyConfigured(
                f"GoogleStorage cannot use its credentials ({type(exc).__name__}:"
                f" {one_line(exc)}); point GOOGLE_APPLICATION_CREDENTIALS at a"
                " service-account key file (JSON)"
            ) from exc

    async def _head(self, full: str) -> bool:
        bucket, _, key = full.partition("/")
        if not key:
            return False
        try:
            await self.fs._call("GET", "b/{}/o/{}", bucket, key, json_out=True, fields="name")
        except FileNotFoundError:
            return False
        return True

    async def _has_children(self, full: str) -> bool:
        bucket, _, key = full.partition("/")
        found = await self.fs._call(
            "GET",
            "b/{}/o",
            bucket,
            json_out=True,
            prefix=f"{key}/" if key else None,
            maxResults=1,
            fields="items(name)",
        )
        return bool(found.get("items"))

    def _failure(self, exc: BaseException) -> Failure | None:
        import aiohttp
        from gcsfs.retry import HttpError
        from google.auth import exceptions as auth

        if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError | TimeoutError):
            return "timeout"
        if isinstance(exc, aiohttp.ClientConnectionError | ConnectionError | auth.TransportError):
            return "connection"
        if isinstance(exc, HttpError) and exc.code in (401, 403):
            return "permission"
        if isinstance(exc, auth.GoogleAuthError):
            return "permission"
        if isinstance(exc, OSError) and str(exc).startswith("Forbidden"):
            return "permission"
        return None

    def _credentials_hint(self) -> str:
        return (
            "check GOOGLE_APPLICATION_CREDENTIALS (the setting or the environment variable)"
            " and the roles it has on the bucket"
        )

    def _create_bucket_hint(self) -> str:
        if self.endpoint != _GOOGLE:
            return f"POST {self.endpoint}/storage/v1/b with {{\"name\": \"{self.bucket}\"}}"
        return f"gcloud storage buckets create gs://{self.bucket}"
