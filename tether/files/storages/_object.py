"""What storages in a bucket of an object store (S3, GCS) share.

An object store has keys, not folders: a "directory" is a prefix that some key
starts with, and nothing stops a key `a` and a key `a/b` from existing side by
side. `ObjectStorage` keeps local-storage behaviour on top of that: it refuses
to write a file over a directory or below a file (one round of concurrent
requests per write), writes each object in one upload that becomes visible
only when it completes (a single PUT, a completed multipart or resumable
upload; a failed write aborts it), copies on the server, and turns the
drivers' exceptions into tether's storage errors.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import errno
import os
import re
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from tether.exceptions import ImproperlyConfigured, StorageError, StoragePathError
from tether.files.storages._atomic import AtomicWriter
from tether.files.storages._config import setting
from tether.files.storages._object_io import (
    GuardedRaw,
    deleter,
    drop_upload,
    fetcher,
    gather_limited,
)
from tether.files.storages._transfer import check_conflicts
from tether.files.storages.base import BaseStorage, Kind
from tether.files.storages.errors import (
    StorageBucketNotFoundError,
    StorageConnectionError,
    StoragePermissionError,
    StorageTimeoutError,
)
from tether.files.storages.fsspec import FsspecStorage, has_magic
from tether.files.storages.paths import join_key, normalize_path, parent_keys

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["ObjectStorage"]

T = TypeVar("T")
Failure = Literal["timeout", "connection", "permission"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# Packages whose exceptions are the service's answers, not bugs in the caller.
_DRIVER_PACKAGES = {"botocore", "aiobotocore", "s3fs", "gcsfs", "google", "aiohttp", "fsspec"}
_NOT_FOUND_FAMILY = (FileNotFoundError, IsADirectoryError, NotADirectoryError, FileExistsError)


def _from_driver(exc: BaseException) -> bool:
    return type(exc).__module__.partition(".")[0] in _DRIVER_PACKAGES


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message, shortened, or its class name."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    text = text if len(text) <= 200 else text[:197] + "..."
    return text or type(exc).__name__


class ObjectStorage(FsspecStorage):
    """Files under a prefix of a bucket; S3Storage and GoogleStorage differ only in the service.

    The root is a URL (`s3://bucket/prefix`) or, as in settings where
    `STORAGE_BACKEND` names the class, a prefix inside the bucket that the
    bucket setting names (`STORAGE_ROOT = "data/"`). The bucket is checked
    on first use, so that a missing bucket is one clear error, not an empty
    storage.

    Attributes:
        bucket: the bucket's name.
        prefix: the root folder inside the bucket, `""` for the whole bucket.
        endpoint: the service's address, as named in messages.
    """

    protocols: ClassVar[tuple[str, ...]]
    bucket_setting: ClassVar[str]
    endpoint_setting: ClassVar[str]
    # Bytes buffered per open file: the part size of uploads, the read-ahead of reads.
    block_size: ClassVar[int] = 8 << 20
    endpoint: str = ""

    def __init__(self, root: str | os.PathLike[str] | None = None, **options: Any) -> None:
        self.bucket, self.prefix = self._bucket_and_prefix(root)
        self.fs = self._filesystem(options)
        self._root_path = f"{self.bucket}/{self.prefix}".rstrip("/")
        self._checked = False
        BaseStorage.__init__(self, f"{self.protocols[0]}://{self._root_path}")

    # --- what a service implements ----------------------------------------------------

    @abc.abstractmethod
    def _filesystem(self, options: dict[str, Any]) -> AbstractFileSystem:
        """The driver's filesystem, from settings laid under `options`; sets `endpoint`."""

    @abc.abstractmethod
    async def _head(self, full: str) -> bool:
        """Whether an object is at `full` (`bucket/key`)."""

    @abc.abstractmethod
    async def _has_children(self, full: str) -> bool:
        """Whether any object's key starts with `full` + `/` (or is in the bucket `full`)."""

    @abc.abstractmethod
    def _failure(self, exc: BaseException) -> Failure | None:
        """What a driver exception means: a timeout, no connection, refused credentials."""

    @abc.abstractmethod
    def _credentials_hint(self) -> str:
        """What to check when the service refuses the credentials."""

    @abc.abstractmethod
    def _create_bucket_hint(self) -> str:
        """How to create the bucket."""

    # --- roots and errors --------------------------------------------------------------

    @classmethod
    def _bucket_and_prefix(cls, root: str | os.PathLike[str] | None) -> tuple[str, str]:
        text = os.fspath(root) if root is not None else ""
        match = _SCHEME.match(text)
        name = cls.__name__
        if match:
            if match.group(1).lower() not in cls.protocols:
                raise ImproperlyConfigured(
                    f"{name} root {text!r} is not a {cls.protocols[0]}:// URL; use"
                    f" {cls.protocols[0]}://bucket/prefix, or leave STORAGE_BACKEND unset to"
                    " choose the storage from the URL"
                )
            bucket, _, prefix = text[match.end() :].partition("/")
            if not bucket:
                raise ImproperlyConfigured(
                    f"{name} root {text!r} names no bucket; use {cls.protocols[0]}://bucket/prefix"
                )
        else:
            if os.path.isabs(text) or text.startswith("~"):
                raise ImproperlyConfigured(
                    f"{name} root {text!r} is a local path; set STORAGE_ROOT to a prefix in the"
                    f" bucket, such as 'data/', or to {cls.protocols[0]}://bucket/prefix"
                )
            bucket, prefix = setting(cls.bucket_setting) or "", text
            if not bucket:
                raise ImproperlyConfigured(
                    f"{name} needs a bucket: set {cls.bucket_setting}, or set STORAGE_ROOT to"
                    f" {cls.protocols[0]}://bucket/prefix"
                )
        try:
            return bucket, normalize_path(prefix, within="the bucket")
        except StoragePathError as exc:
            raise ImproperlyConfigured(f"{name} root {text!r}: {exc}") from exc

    def _where(self, key: str) -> str:
        return self.abspath(key) if key else self.root

    @contextlib.contextmanager
    def _errors(self, key: str, action: str) -> Iterator[None]:
        """Turn the driver's exceptions into storage errors that say what to do.

        Not-found errors pass through, for `BaseStorage` to name the path.
        """
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:
            where = self._where(key)
            failure = self._failure(exc)
            if failure is None and isinstance(exc, PermissionError):
                failure = "permission"
            if failure is None and isinstance(exc, _NOT_FOUND_FAMILY):
                raise
            limits = (
                f"{setting('STORAGE_MAX_ATTEMPTS')} attempts, STORAGE_CONNECT_TIMEOUT="
                f"{setting('STORAGE_CONNECT_TIMEOUT')}s, STORAGE_READ_TIMEOUT="
                f"{setting('STORAGE_READ_TIMEOUT')}s"
            )
            if failure == "timeout":
                raise StorageTimeoutError(
                    f"cannot {action} {where}: {self.endpoint} did not answer in time ({limits});"
                    " check that the service is up and reachable, or raise the timeouts"
                ) from exc
            if failure == "connection":
                raise StorageConnectionError(
                    f"cannot {action} {where}: cannot connect to {self.endpoint} ({limits});"
                    f" check {self.endpoint_setting} and that the service is up"
                ) from exc
            if failure == "permission":
                raise StoragePermissionError(
                    f"cannot {action} {where}: access denied ({one_line(exc)});"
                    f" {self._credentials_hint()}"
                ) from exc
            if isinstance(exc, OSError) or not _from_driver(exc):
                raise
            raise StorageError(
                f"cannot {action} {where}: {type(exc).__name__}: {one_line(exc)}"
            ) from exc

    def _sync(self, function: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
        from fsspec.asyn import sync

        return sync(self.fs.loop, function, *args, **kwargs)

    def _ready(self) -> None:
        """Check once that the bucket exists, and that the service answers."""
        if self._checked:
            return
        with self._errors("", "reach"):
            try:
                self._sync(self._has_children, self._root_path)
            except FileNotFoundError as exc:
                raise StorageBucketNotFoundError(
                    f"bucket {self.bucket!r} does not exist at {self.endpoint}: create it"
                    f" ({self._create_bucket_hint()}) or fix {self.bucket_setting} or"
                    " STORAGE_ROOT"
                ) from exc
        self._checked = True

    @contextlib.contextmanager
    def _remote(self, key: str, action: str) -> Iterator[None]:
        self._ready()
        with self._errors(key, action):
            yield

    async def _conflict(self, key: str, *, as_file: bool) -> None:
        """Raise if a file at `key` would be a directory, or a folder above `key` is a file.

        Writing into an existing folder costs one round of two listings; only
        a new folder needs a look at each folder above it.
        """
        parent = key.rpartition("/")[0]
        is_dir, parent_is_dir = await asyncio.gather(
            self._has_children(self._full(key)), self._has_children(self._full(parent))
        )
        if as_file and is_dir:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), key)
        if parent_is_dir or (not as_file and is_dir):
            return
        above = parent_keys(key) + ([] if as_file else [key])
        found = await asyncio.gather(*(self._head(self._full(name)) for name in above))
        if any(found):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), key)

    # --- the storage hooks -------------------------------------------------------------

    def _kind(self, key: str) -> Kind | None:
        with self._remote(key, "look up"):
            full = self._full(key)
            return self._sync(self._kind_of, full, bool(key))

    async def _kind_of(self, full: str, can_be_file: bool) -> Kind | None:
        try:
            if can_be_file and await self._head(full):
                return "file"
            return "directory" if await self._has_children(full) else None
        except FileNotFoundError:
            return None

    def _open_read(self, key: str) -> IO[bytes]:
        with self._remote(key, "read"):
            handle = self.fs.open(self._full(key), "rb", block_size=self.block_size)
            if (getattr(handle, "details", None) or {}).get("type", "file") != "file":
                # A prefix of other keys: `BaseStorage` reports it as a directory.
                handle.close()
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), key)
            return handle

    def _open_write(self, key: str) -> AtomicWriter:
        with self._remote(key, "write"):
            self._sync(self._conflict, key, as_file=True)
            raw = self.fs.open(self._full(key), "wb", block_size=self.block_size)

        def commit() -> None:
            with self._errors(key, "write"):
                raw.close()

        return AtomicWriter(GuardedRaw(raw, self, key), commit, lambda: drop_upload(raw), key)

    def _list(self, key: str) -> tuple[list[str], list[str]]:
        with self._remote(key, "list"):
            return super()._list(key)

    def _remove(self, key: str, kind: Kind) -> None:
        full = self._full(key)
        with self._remote(key, "remove"):
            if kind == "file":
                self.fs.rm_file(full)
                return
            files = self.fs.find(full)
            if any(has_magic(name) for name in files):
                # fsspec's rm reads `*?[` in names as globs: delete each object instead.
                jobs = [(name, "") for name in files]
                self._sync(gather_limited, deleter(self.fs), jobs, setting("STORAGE_CONCURRENCY"))
            elif files:
                self.fs.rm(files)

    def _makedir(self, key: str) -> None:
        # Object stores have no empty directories: only check that no file is in the way.
        with self._remote(key, "create directory"):
            if key:
                self._sync(self._conflict, key, as_file=False)

    def _copy_file(self, src: str, dest: str) -> None:
        with self._remote(dest, "copy to"):
            self._sync(self._conflict, dest, as_file=True)
            self.fs.cp_file(self._full(src), self._full(dest))

    def _copy_directory(self, src: str, dest: str) -> None:
        cut = len(src) + 1
        pairs = [(name, join_key(dest, name[cut:])) for name in self.find(src)]
        if self._kind(dest) == "directory":
            check_conflicts(self.find(dest), [key for _, key in pairs])
        self._makedir(dest)
        jobs = [(self._full(source), self._full(target)) for source, target in pairs]
        with self._remote(dest, "copy to"):
            self._sync(gather_limited, self.fs._cp_file, jobs, setting("STORAGE_CONCURRENCY"))

    def find(self, path: str = "") -> list[str]:
        """The storage paths of all files below `path`, sorted; `[path]` for a file."""
        with self._remote(normalize_path(path), "list"):
            return super().find(path)

    def _tree(self, key: str) -> tuple[list[str], list[str]]:
        cut = len(key) + 1 if key else 0
        return [], [name[cut:] for name in self.find(key)]

    def _put_files(self, pairs: Sequence[tuple[str, str]], concurrency: int) -> None:
        jobs = [(local, self._full(key)) for local, key in pairs]
        with self._remote(pairs[0][1] if pairs else "", "upload to"):
            self._sync(gather_limited, self.fs._put_file, jobs, concurrency)

    def _get_files(self, pairs: Sequence[tuple[str, str]], concurrency: int) -> None:
        jobs = [(self._full(key), local) for key, local in pairs]
        with self._remote(pairs[0][0] if pairs else "", "download"):
            self._sync(gather_limited, fetcher(self.fs), jobs, concurrency)
