"""Requests to a remote: whole-object reads and writes, batched and concurrent, one request each.

A remote is a storage opened on its URL (`get_storage(root=url)`). On an object
store (S3, GCS) each operation here is exactly one request to the service (a
GET, a ranged GET, a PUT, a HEAD, a listing page, a batch delete), run on the
storage's own event loop, up to `STORAGE_CONCURRENCY` at once: pulling one
bundle must stay within a fixed number of requests, which the storage's
general file API (a bucket check, a HEAD before each read, folder checks
before each write) does not promise. Any other storage (a local folder,
`file://`, other fsspec URLs) goes through the storage's file API in a pool
of threads. Every write is atomic either way: a PUT, or the storage's
write-then-rename.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from tether.bundles.errors import BundleError
from tether.conf import settings
from tether.files.storages import BaseStorage, StorageError, StorageNotFoundError, get_storage

__all__ = ["RemoteIO", "open_remote"]

T = TypeVar("T")
R = TypeVar("R")

_cached: dict[str, tuple[int, RemoteIO]] = {}


def open_remote(url: str) -> RemoteIO:
    """The remote at `url`, reused while the settings stay the same (connections are kept)."""
    generation = settings.generation
    found = _cached.get(url)
    if found is None or found[0] != generation:
        try:
            storage = get_storage(root=url)
        except Exception as exc:  # ImproperlyConfigured, a missing driver, a malformed URL
            raise BundleError(f"cannot open the remote {url}: {exc}") from exc
        found = (generation, RemoteIO(storage))
        _cached[url] = found
    return found[1]


def _concurrency() -> int:
    return max(1, int(getattr(settings, "STORAGE_CONCURRENCY", 16) or 16))


class RemoteIO:
    """Batched requests to one remote storage.

    Args:
        storage: the storage opened on the remote's URL.
    """

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        # Object stores (S3Storage, GoogleStorage) expose their async filesystem.
        self.objects = hasattr(storage, "_head") and hasattr(storage, "fs") and hasattr(storage, "_sync")
        # s3fs splits a large read into concurrent ranges after a HEAD for its size; one GET is wanted.
        self._whole: dict[str, Any] = {}
        if self.objects:
            import inspect

            cat_file = storage.fs._cat_file  # type: ignore[attr-defined]
            if "max_concurrency" in inspect.signature(cat_file).parameters:
                self._whole = {"max_concurrency": 1}

    @property
    def url(self) -> str:
        """The remote's root URL."""
        return self.storage.root

    # --- running batches -----------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, key: str, action: str) -> Iterator[None]:
        if self.objects:
            with self.storage._errors(key, action):  # type: ignore[attr-defined]
                yield
        else:
            yield

    def _batch(
        self,
        items: Sequence[T],
        coroutine: Callable[[T], Coroutine[Any, Any, R]],
        blocking: Callable[[T], R],
        action: str,
        tick: Callable[[], None] | None = None,
    ) -> list[R]:
        """`coroutine(item)` (object stores) or `blocking(item)` for each item, concurrently, in order.

        `tick()` is called after each item is done (for a progress bar).
        """
        if not items:
            return []
        limit = _concurrency()
        if tick is not None:
            plain = blocking

            def blocking(item: T) -> R:
                result = plain(item)
                tick()
                return result

        if self.objects:
            # asyncio and thread pools are imported here: `import tether.bundles` stays light.
            import asyncio

            async def run_all() -> list[R]:
                semaphore = asyncio.Semaphore(limit)

                async def one(item: T) -> R:
                    async with semaphore:
                        result = await coroutine(item)
                    if tick is not None:
                        tick()
                    return result

                return await asyncio.gather(*(one(item) for item in items))

            with self._errors("", action):
                return self.storage._sync(run_all)  # type: ignore[attr-defined]
        if len(items) == 1:
            return [blocking(items[0])]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(limit, len(items))) as pool:
            return list(pool.map(blocking, items))

    def _full(self, key: str) -> str:
        return self.storage._full(key)  # type: ignore[attr-defined]

    # --- reading -------------------------------------------------------------------------

    def read_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The content of each key (None where there is no such object), one GET each."""

        async def get(key: str) -> bytes | None:
            try:
                return await self.storage.fs._cat_file(self._full(key), **self._whole)  # type: ignore[attr-defined]
            except FileNotFoundError:
                return None

        def get_blocking(key: str) -> bytes | None:
            try:
                data = self.storage.read(key)
            except StorageNotFoundError:
                return None
            assert isinstance(data, bytes)
            return data

        return self._batch(list(keys), get, get_blocking, "read")

    def read_ranges(self, ranges: Sequence[tuple[str, int, int]]) -> list[bytes | None]:
        """Bytes `[start, start + length)` of each `(key, start, length)`, one ranged GET each."""

        async def get(item: tuple[str, int, int]) -> bytes | None:
            key, start, length = item
            try:
                return await self.storage.fs._cat_file(  # type: ignore[attr-defined]
                    self._full(key), start=start, end=start + length
                )
            except FileNotFoundError:
                return None

        def get_blocking(item: tuple[str, int, int]) -> bytes | None:
            key, start, length = item
            try:
                with self.storage.open(key, "rb") as handle:
                    handle.seek(start)
                    return handle.read(length)
            except StorageNotFoundError:
                return None

        return self._batch(list(ranges), get, get_blocking, "read")

    def exists_many(self, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` that hold an object, one HEAD each."""

        async def head(key: str) -> bool:
            return await self.storage._head(self._full(key))  # type: ignore[attr-defined]

        found = self._batch(list(keys), head, self.storage.isfile, "look up")
        return {key for key, present in zip(keys, found) if present}

    def list(self, prefix: str) -> list[str]:
        """The keys of every object below the folder `prefix`, sorted (one listing per 1,000 keys)."""
        if self.objects and hasattr(self.storage.fs, "_call_s3"):  # type: ignore[attr-defined]
            # One request per 1,000 keys (fsspec's find adds a HEAD when nothing is found).
            return sorted(self._s3_list(prefix, None) or ())
        if self.objects:
            full = self._full(prefix)
            with self._errors(prefix, "list"):
                try:
                    names = self.storage._sync(self.storage.fs._find, full)  # type: ignore[attr-defined]
                except FileNotFoundError:
                    # No such prefix is an empty listing; no such bucket must say so.
                    self.storage._checked = False  # type: ignore[attr-defined]
                    self.storage._ready()  # type: ignore[attr-defined]
                    return []
            cut = len(self._full("")) + 1 if self._full("") else 0
            return sorted(name[cut:] for name in names)
        try:
            if not self.storage.isdir(prefix):
                return []
            return self.storage.find(prefix)
        except StorageNotFoundError:
            return []

    def list_small(self, prefix: str, pages: int) -> set[str] | None:
        """The keys below the folder `prefix` if one to `pages` listing pages hold them all, else None.

        On S3 a page is 1,000 keys; asking whether a few hundred blobs exist
        is then one or two requests instead of one HEAD each. Elsewhere None
        (HEADs, or file look-ups on local storage, are as cheap).
        """
        if not self.objects or not hasattr(self.storage.fs, "_call_s3"):  # type: ignore[attr-defined]
            return None
        keys = self._s3_list(prefix, max(1, pages))
        return None if keys is None else set(keys)

    def _s3_list(self, prefix: str, pages: int | None) -> list[str] | None:
        """S3 keys below `prefix`, one `list_objects_v2` per 1,000; None past `pages` pages."""
        bucket, _, key = self._full(prefix).partition("/")
        root = self._full("").partition("/")[2]
        cut = len(root) + 1 if root else 0

        async def listing() -> list[str] | None:
            found: list[str] = []
            token: dict[str, str] = {}
            page = 0
            while pages is None or page < pages:
                page += 1
                answer = await self.storage.fs._call_s3(  # type: ignore[attr-defined]
                    "list_objects_v2", Bucket=bucket, Prefix=f"{key}/", MaxKeys=1000, **token
                )
                found.extend(item["Key"][cut:] for item in answer.get("Contents", ()))
                if not answer.get("IsTruncated"):
                    return found
                token = {"ContinuationToken": answer["NextContinuationToken"]}
            return None

        with self._errors(prefix, "list"):
            try:
                return self.storage._sync(listing)  # type: ignore[attr-defined]
            except FileNotFoundError:
                # No such bucket: say so, in one line.
                self.storage._checked = False  # type: ignore[attr-defined]
                self.storage._ready()  # type: ignore[attr-defined]
                return []

    def check(self) -> None:
        """Reach the remote once: a missing bucket or bad credentials fail here, in one line."""
        if self.objects:
            self.storage._checked = False  # type: ignore[attr-defined]
            self.storage._ready()  # type: ignore[attr-defined]
        else:
            self.storage.isdir("")

    # --- writing -------------------------------------------------------------------------

    def write_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Write each `(key, content)`: one PUT each, visible only once complete."""

        async def put(item: tuple[str, bytes]) -> None:
            key, data = item
            await self.storage.fs._pipe_file(self._full(key), data)  # type: ignore[attr-defined]

        def put_blocking(item: tuple[str, bytes]) -> None:
            self.storage.touch(item[0], item[1])

        self._batch(list(items), put, put_blocking, "write")

    def upload_many(
        self, items: Sequence[tuple[str, Callable[[], Any]]], tick: Callable[[], None] | None = None
    ) -> None:
        """Write each `(key, source)`: `source()` is a local path (str) or bytes."""

        async def put(item: tuple[str, Callable[[], Any]]) -> None:
            key, source = item
            value = source()
            if isinstance(value, str):
                await self.storage.fs._put_file(value, self._full(key))  # type: ignore[attr-defined]
            else:
                await self.storage.fs._pipe_file(self._full(key), value)  # type: ignore[attr-defined]

        def put_blocking(item: tuple[str, Callable[[], Any]]) -> None:
            key, source = item
            value = source()
            if isinstance(value, str):
                with open(value, "rb") as handle:
                    self.storage.touch(key, handle)
            else:
                self.storage.touch(key, value)

        self._batch(list(items), put, put_blocking, "upload to", tick)

    def download_many(
        self, items: Sequence[tuple[str, str]], tick: Callable[[], None] | None = None
    ) -> list[bool]:
        """Copy each `(key, local path)` to that local file (True), or False if the key is missing."""

        async def get(item: tuple[str, str]) -> bool:
            key, local = item
            try:
                await self.storage.fs._get_file(self._full(key), local)  # type: ignore[attr-defined]
            except FileNotFoundError:
                return False
            return True

        def get_blocking(item: tuple[str, str]) -> bool:
            key, local = item
            try:
                with self.storage.open(key, "rb") as source, open(local, "wb") as target:
                    while chunk := source.read(1 << 20):
                        target.write(chunk)
            except StorageNotFoundError:
                return False
            return True

        return self._batch(list(items), get, get_blocking, "download", tick)

    def delete_many(self, keys: Iterable[str]) -> None:
        """Remove objects (batched deletes on object stores); missing ones are fine."""
        keys = sorted(set(keys))
        if not keys:
            return
        if self.objects:
            fulls = [self._full(key) for key in keys]
            with self._errors(keys[0], "remove"):
                with contextlib.suppress(FileNotFoundError):
                    self.storage._sync(self.storage.fs._rm, fulls)  # type: ignore[attr-defined]
            return

        def remove(key: str) -> None:
            try:
                self.storage.rm(key, missing_ok=True)
            except StorageError as exc:
                raise BundleError(f"cannot remove {key} from the remote {self.url}: {exc}") from exc

        self._batch(keys, remove, remove, "remove")  # type: ignore[arg-type]

    def delete_folder(self, prefix: str) -> None:
        """Remove everything below the folder `prefix`."""
        self.delete_many(self.list(prefix))
        if not self.objects:
            with contextlib.suppress(StorageError):
                self.storage.rm(prefix, recursive=True, missing_ok=True)


def local_path_of(storage: BaseStorage, key: str) -> str | None:
    """The local file behind `key` in `storage`, if it is on this machine's disk."""
    path = storage.local_path(key)
    return path if path and os.path.isfile(path) else None
