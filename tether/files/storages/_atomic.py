"""File objects whose data appears under their name only when closed without error."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, Any, Protocol

from tether.exceptions import StorageError

# Prefix and suffix of the temporary names that atomic writes use beside their
# target; listings skip such names, so a crash's leftovers never look like data.
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tether-tmp"
CHUNK_SIZE = 1 << 20


def is_temp_name(name: str) -> bool:
    """Whether `name` (a last path part) is the temporary name of a write in progress."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def temp_name(name: str, token: str) -> str:
    """The temporary name for a write of `name`; kept well under filesystem name limits."""
    return f"{TEMP_PREFIX}{name[:120]}.{token}{TEMP_SUFFIX}"


class Writable(Protocol):
    """Anything with a binary `write`: a file opened for writing, an `AtomicWriter`."""

    def write(self, data: bytes, /) -> Any: ...


def copy_stream(source: IO[Any], target: Writable, chunk_size: int = CHUNK_SIZE) -> None:
    """Copy `source` into `target` chunk by chunk; text chunks are encoded as UTF-8."""
    while True:
        chunk = source.read(chunk_size)
        if not chunk:
            return
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        target.write(chunk)


class AtomicWriter(io.BufferedIOBase):
    """A binary writer that commits on a clean close and discards otherwise.

    The storage hands it the real file object being written (a temporary file,
    a buffer, an upload) and two callables: `commit` moves the data into place,
    `discard` throws it away. Leaving a `with` block by an exception, calling
    `abort()`, or dropping the writer without closing it all discard.

    Args:
        raw: the binary file object the bytes go to.
        commit: called once on a clean close; publishes the data under `name`.
        discard: called once otherwise; must not raise for a missing temporary.
        name: the storage path being written, for messages.
    """

    mode = "wb"

    def __init__(
        self,
        raw: IO[bytes],
        commit: Callable[[], None],
        discard: Callable[[], None],
        name: str,
    ) -> None:
        super().__init__()
        self._raw = raw
        self._commit = commit
        self._discard = discard
        self._aborted = False
        self.name = name

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def write(self, data: Any) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError(f"write to closed file {self.name!r}")
        self._raw.write(data)
        return memoryview(data).nbytes

    def tell(self) -> int:
        return self._raw.tell()

    def flush(self) -> None:
        if not self.closed and not self._raw.closed:
            self._raw.flush()

    def abort(self) -> None:
        """Make the coming close discard the data instead of publishing it."""
        self._aborted = True

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._aborted:
                self._discard()
                return
            try:
                self._commit()
            except BaseException as exc:
                self._quiet_discard()
                if isinstance(exc, OSError):
                    raise StorageError(f"cannot write {self.name!r}: {exc}") from exc
                raise
        finally:
            super().close()

    def _quiet_discard(self) -> None:
        try:
            self._discard()
        except Exception:  # the commit error is the one worth reporting
            pass

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self._aborted = True
        self.close()

    def __del__(self) -> None:
        # A writer dropped without close() is an unfinished write: never publish it.
        if not self.closed:
            self._aborted = True
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"<AtomicWriter {self.name!r}>"


class AtomicTextWriter(io.TextIOWrapper):
    """Text over an `AtomicWriter` that, like it, discards when its block raises."""

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.buffer.abort()  # type: ignore[attr-defined]
        self.close()

    def abort(self) -> None:
        """Make the coming close discard the data instead of publishing it."""
        self.buffer.abort()  # type: ignore[attr-defined]

    def __del__(self) -> None:
        if not self.closed:
            self.buffer.abort()  # type: ignore[attr-defined]
            try:
                self.close()
            except Exception:
                pass
