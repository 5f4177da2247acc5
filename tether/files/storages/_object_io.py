"""Object-store plumbing: batches of concurrent requests, downloads into place, abandoned uploads."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from tether.files.storages.unnamed import replacing

if TYPE_CHECKING:
    from tether.files.storages._object import ObjectStorage

__all__ = ["gather_limited", "fetcher", "deleter", "drop_upload", "GuardedRaw"]


def fetcher(fs: Any) -> Callable[[str, str], Coroutine[Any, Any, None]]:
    """`fs._get_file`, into a temporary file beside the target that replaces it on success."""

    async def fetch(full: str, local: str) -> None:
        with replacing(local) as temp:
            await fs._get_file(full, temp)

    return fetch


async def gather_limited(
    function: Callable[[str, str], Awaitable[Any]], jobs: Sequence[tuple[str, str]], limit: int
) -> None:
    """Run `function(*job)` for every job, at most `limit` at once; the first error is raised."""
    semaphore = asyncio.Semaphore(max(1, limit))

    async def run(job: tuple[str, str]) -> None:
        async with semaphore:
            await function(*job)

    tasks = [asyncio.ensure_future(run(job)) for job in jobs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def deleter(fs: Any) -> Callable[[str, str], Coroutine[Any, Any, None]]:
    """`fs._rm_file` of the first of two arguments, to run through `gather_limited`."""

    async def delete(full: str, _: str) -> None:
        await fs._rm_file(full)

    return delete


def drop_upload(raw: Any) -> None:
    """Abandon an upload: abort the multipart or resumable upload, publish nothing."""
    try:
        raw.discard()
    except Exception:  # an upload the service forgets on its own; never mask the first error
        pass
    raw.closed = True


class GuardedRaw:
    """The driver's file object, with its errors turned into storage errors."""

    def __init__(self, raw: Any, storage: ObjectStorage, key: str) -> None:
        """Wrap `raw`, the upload of `key` through `storage`."""
        self._raw = raw
        self._storage = storage
        self._key = key

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)

    def write(self, data: Any) -> int:
        with self._storage._errors(self._key, "write"):
            return int(self._raw.write(data))

    def flush(self) -> None:
        with self._storage._errors(self._key, "write"):
            self._raw.flush()

    def tell(self) -> int:
        return int(self._raw.tell())
