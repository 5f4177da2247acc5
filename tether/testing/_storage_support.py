"""Helpers of the storage conformance suite: sources that prove streaming, memory peaks."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import tracemalloc
from collections.abc import Callable, Iterator

from tether.files.storages import BaseStorage

__all__ = [
    "MakeStorage",
    "ChunkedSource",
    "PatternSource",
    "random_bytes",
    "stream_digest",
    "traced_peak",
]

MakeStorage = Callable[[str], BaseStorage]
"""`make_storage(prefix)`: a storage whose root is `prefix` inside the test's base location."""

_BLOCK = 1 << 20


def random_bytes(size: int) -> bytes:
    """`size` random bytes that do not end with a carriage return.

    gcp-storage-emulator parses multipart uploads with Python's email parser,
    which drops a final `\\r` from the content; real GCS keeps it. Random
    payloads end with one about once in 256 files, which made tests flaky.
    """
    data = os.urandom(size)
    return data[:-1] + b"." if data.endswith(b"\r") else data


class ChunkedSource(io.RawIOBase):
    """A readable stream that refuses to be read whole, to prove content is streamed.

    Attributes:
        reads: how many times `read` was called.
    """

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and size > 0, "content must be read in chunks"
        self.reads += 1
        return self._data.read(size)


class PatternSource(io.RawIOBase):
    """`size` bytes of a fixed pseudo-random pattern, made as they are read, never held whole.

    Each MiB starts with its own index, so that misplaced blocks change the
    digest; `digest()` is the SHA-256 of what was read so far.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        self._base = random.Random(seed).randbytes(_BLOCK)
        self._size = size
        self._position = 0
        self._index = -1
        self._block = b""
        self._hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and size > 0, "content must be read in chunks"
        size = min(size, self._size - self._position)
        parts = []
        while size > 0:
            index, offset = divmod(self._position, _BLOCK)
            if index != self._index:
                self._index, self._block = index, index.to_bytes(8, "big") + self._base[8:]
            part = self._block[offset : offset + min(size, _BLOCK - offset)]
            parts.append(part)
            self._position += len(part)
            size -= len(part)
        data = b"".join(parts)
        self._hash.update(data)
        return data

    def digest(self) -> str:
        """The SHA-256 of the bytes read so far, in hex."""
        return self._hash.hexdigest()


def stream_digest(storage: BaseStorage, path: str, chunk_size: int = _BLOCK) -> str:
    """The SHA-256 of the file `path`, read through `storage.open` chunk by chunk."""
    digest = hashlib.sha256()
    with storage.open(path) as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def traced_peak() -> Iterator[list[int]]:
    """Measure the peak of Python memory allocated while the block runs, in bytes.

    Yields a one-item list that holds the peak once the block is over.
    """
    started = tracemalloc.is_tracing()
    if not started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    peak = [0]
    try:
        yield peak
    finally:
        peak[0] = tracemalloc.get_traced_memory()[1] - base
        if not started:
            tracemalloc.stop()
