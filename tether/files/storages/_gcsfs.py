"""The gcsfs filesystem that `GoogleStorage` uses: a bounded retry policy.

Imported only when a `GoogleStorage` is built, so that gcsfs stays optional.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from gcsfs.core import GCSFileSystem
from gcsfs.retry import HttpError, is_retriable

__all__ = ["BoundedGCSFileSystem"]

# gcsfs retries every request 6 times with waits growing to 32 s, which makes a
# dead endpoint hang for a minute or more; these run the undecorated requests.
_REQUEST = GCSFileSystem._request.__wrapped__  # type: ignore[attr-defined]
_GET_FILE_REQUEST = GCSFileSystem._get_file_request.__wrapped__  # type: ignore[attr-defined]

# Not Implemented: emulators answer it, e.g. to cancelling a resumable upload;
# asking again cannot help.
_PERMANENT_CODES = {501}


def _retriable(exc: BaseException) -> bool:
    if isinstance(exc, HttpError) and exc.code in _PERMANENT_CODES:
        return False
    return is_retriable(exc) or isinstance(exc, asyncio.TimeoutError)


class BoundedGCSFileSystem(GCSFileSystem):
    """`GCSFileSystem` that makes at most `attempts` attempts per request, with short waits.

    It is gcsfs's JSON-API filesystem, also when gcsfs's experimental zonal and
    hierarchical-namespace support is switched on, so that it works against
    emulators and private endpoints. Being a keyword of the constructor,
    `attempts` survives pickling.

    Args:
        *args: passed to `GCSFileSystem`.
        attempts: tries per request, the first one included.
        **kwargs: passed to `GCSFileSystem`.
    """

    def __init__(self, *args: Any, attempts: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attempts = max(1, int(attempts))

    async def _retrying(self, request: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        for attempt in range(self.attempts):
            try:
                return await request(self, *args, **kwargs)
            except Exception as exc:
                if attempt + 1 >= self.attempts or not _retriable(exc):
                    raise
            await asyncio.sleep(min(0.2 * 2**attempt, 5.0) * (0.5 + random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        return await self._retrying(_REQUEST, method, path, *args, **kwargs)

    async def _get_file_request(self, rpath: str, lpath: str, *args: Any, **kwargs: Any) -> Any:
        return await self._retrying(_GET_FILE_REQUEST, rpath, lpath, *args, **kwargs)
