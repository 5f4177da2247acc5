"""Which storage paths a piece of code reads and writes, for lineage.

The runner wraps each task in `track_io()`; every storage then reports the
files it opens. Outside a tracked block the cost is one ContextVar lookup.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["IOLog", "track_io", "note_read", "note_write"]


@dataclass
class IOLog:
    """Storage paths read and written, in first-use order, per storage root."""

    reads: dict[tuple[str, str], None] = field(default_factory=dict)
    writes: dict[tuple[str, str], None] = field(default_factory=dict)

    def read_paths(self, root: str) -> list[str]:
        """Paths read in the storage at `root`."""
        return [path for where, path in self.reads if where == root]

    def written_paths(self, root: str) -> list[str]:
        """Paths written in the storage at `root`."""
        return [path for where, path in self.writes if where == root]


_active: contextvars.ContextVar[IOLog | None] = contextvars.ContextVar("tether_io", default=None)


@contextlib.contextmanager
def track_io() -> Iterator[IOLog]:
    """Record the storage paths read and written inside the block."""
    log = IOLog()
    token = _active.set(log)
    try:
        yield log
    finally:
        _active.reset(token)


def note_read(root: str, key: str) -> None:
    """Tell the active tracker, if any, that `key` of the storage at `root` was read."""
    log = _active.get()
    if log is not None:
        log.reads[(root, key)] = None


def note_write(root: str, key: str) -> None:
    """Tell the active tracker, if any, that `key` of the storage at `root` was written."""
    log = _active.get()
    if log is not None:
        log.writes[(root, key)] = None
