"""Manifest segments: on storage with local files, manifests appended to one file per process.

Creating a file and renaming it into place costs more than the rest of closing
a small bundle on ext4 (a journal transaction each). So where the storage has
local files, a process appends each closed bundle's manifest as one line to its
own segment of the context, `bundles/contexts/<context>/segments/<pid>-<id>.jsonl`,
and the catalog records `<segment path>#<offset>+<length>`. Object stores have no
append; there every manifest stays a file of its own. Both are read alike.

Only the process that created a segment writes to it, with `O_APPEND`, and the
catalog records a line only after it is written whole, so a reader never meets
a partial line. A crash may leave a torn last line, which a rebuild skips and
nothing else reads. A forked child opens a segment of its own.

Removing such a bundle cannot delete its line: it writes `<uuid>.removed` beside
where the bundle's manifest file would be, listing the dead segment lines, and a
rebuild skips them. A segment no bundle refers to is deleted once its writer is
gone: a writer holds a shared `flock` on its segment for as long as it has it
open, and the collector deletes only what it can lock exclusively.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from tether.catalog.bundle_records import (
    SEGMENT_SUFFIX,
    SEGMENTS_FOLDER,
    context_dir,
    manifest_path,
    parse_removed,
    removed_marker_path,
    segment_lines,
    segment_ref,
    split_segment_ref,
)
from tether.files.storages import BaseStorage, StorageError, StorageNotFoundError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no way to tell a live segment, so none is deleted
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from tether.catalog.bundle_index import BundleIndex

__all__ = [
    "SegmentWriter",
    "collect_segments",
    "mark_removed",
    "read_segment_line",
    "removed_refs",
]

# A segment is closed and a new one begun past this size, so that space freed by
# removals comes back when every bundle of a segment is gone.
MAX_SEGMENT_BYTES = 64 << 20
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class _Segment:
    """An open segment: its descriptor, storage path and size."""

    def __init__(self, descriptor: int, path: str) -> None:
        self.descriptor = descriptor
        self.path = path
        self.size = 0


class SegmentWriter:
    """Appends manifests to this process's segment of each context.

    At exit it closes its segments and deletes those no bundle refers to any
    more (all their bundles were removed while it wrote to them).

    Args:
        storage: the bundle storage; segments are used only if it has local files.
        index: the catalog's bundle index, to tell which segments are still used.
    """

    def __init__(self, storage: BaseStorage, index: BundleIndex) -> None:
        self.storage = storage
        self.index = index
        self.root = storage.local_path("")
        self._segments: dict[str, _Segment] = {}
        self._pid = os.getpid()
        self._lock = threading.Lock()
        _writers.add(self)

    @property
    def enabled(self) -> bool:
        """Whether manifests go to segments (the storage has local files)."""
        return self.root is not None

    def append(self, context: str, manifests: Sequence[bytes]) -> list[str]:
        """Append manifests (JSON without newlines) to the context's segment; returns their references.

        Raises:
            OSError: the segment cannot be written (it is then left for a new one).
        """
        data = b"".join(manifest + b"\n" for manifest in manifests)
        with self._lock:
            segment = self._segment(context)
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(segment.descriptor, view):]
            except BaseException:
                # A torn line may end the file: nothing is ever appended after it.
                self._close(context)
                raise
            refs = []
            offset = segment.size
            for manifest in manifests:
                refs.append(segment_ref(segment.path, offset, len(manifest)))
                offset += len(manifest) + 1
            segment.size = offset
            if segment.size >= MAX_SEGMENT_BYTES:
                self._close(context)
        return refs

    def close(self) -> None:
        """Close every open segment, deleting those no bundle refers to."""
        if self._pid != os.getpid():
            return
        with self._lock:
            paths = [segment.path for segment in self._segments.values()]
            for context in list(self._segments):
                self._close(context)
        if self.root is None:  # no segment was ever opened
            return
        for path in paths:
            with contextlib.suppress(Exception):  # at exit the catalog may be unreachable: it stays
                _collect(self.storage, self.index, self.root, path)

    def _after_fork(self) -> None:
        """In a forked child: close the parent's segments (its locks stay) to begin our own."""
        for inherited in self._segments.values():
            with contextlib.suppress(OSError):
                os.close(inherited.descriptor)
        self._segments = {}
        self._pid = os.getpid()
        self._lock = threading.Lock()  # another thread of the parent may have held it

    def _segment(self, context: str) -> _Segment:
        while True:
            segment = self._segments.get(context)
            if segment is None:
                segment = self._segments[context] = self._open(context)
            # Checked with the lock held: a segment deleted under us (its context was
            # deleted, or a collector took it between its creation and our lock) is
            # left for another.
            if os.fstat(segment.descriptor).st_nlink > 0:
                return segment
            self._close(context)

    def _open(self, context: str) -> _Segment:
        assert self.root is not None
        folder = f"{context_dir(context)}/{SEGMENTS_FOLDER}"
        local_folder = os.path.join(self.root, *folder.split("/"))
        os.makedirs(local_folder, exist_ok=True)
        while True:
            name = f"{os.getpid()}-{os.urandom(6).hex()}{SEGMENT_SUFFIX}"
            try:
                descriptor = os.open(os.path.join(local_folder, name), _FLAGS, 0o666)
            except FileExistsError:  # pragma: no cover - a 48-bit collision
                continue
            break
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_SH)
        return _Segment(descriptor, f"{folder}/{name}")

    def _close(self, context: str) -> None:
        segment = self._segments.pop(context, None)
        if segment is not None:
            with contextlib.suppress(OSError):
                os.close(segment.descriptor)


# The writers of this process, closed at exit and reset in a forked child
# (weakly held: a writer goes with its store).
_writers: weakref.WeakSet[SegmentWriter] = weakref.WeakSet()


def _close_all() -> None:
    for writer in list(_writers):
        writer.close()


def _reset_in_child() -> None:
    for writer in list(_writers):
        writer._after_fork()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)


def read_segment_line(storage: BaseStorage, ref: str) -> bytes:
    """The manifest at segment reference `ref`.

    Raises:
        StorageNotFoundError: the segment is gone, or shorter than the reference says.
    """
    found = split_segment_ref(ref)
    assert found is not None, ref
    path, offset, length = found
    with storage.open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    if len(data) != length:
        raise StorageNotFoundError(f"{path} ends before byte {offset + length}")
    return data


def removed_refs(storage: BaseStorage, marker: str) -> list[str]:
    """The segment references a removal marker lists (none if it is missing)."""
    try:
        return parse_removed(storage.read(marker))
    except StorageNotFoundError:
        return []


def mark_removed(storage: BaseStorage, home: str, ref: str) -> None:
    """Record that the segment line `ref` of the bundle whose own manifest path is `home` is dead."""
    marker = removed_marker_path(home)
    refs = removed_refs(storage, marker)
    if ref not in refs:
        storage.touch(marker, json.dumps([*refs, ref]))


def collect_segments(storage: BaseStorage, index: BundleIndex, contexts: Iterable[str]) -> list[str]:
    """Delete the segments of these contexts that no recorded bundle refers to and no process writes to.

    A segment open in any process, this one included, is left: a line may have
    been written to it whose bundle is not recorded yet. The removal markers of
    their lines go with them. Returns the segments deleted.
    """
    root = storage.local_path("")
    if root is None:
        return []
    paths = []
    for context in sorted(set(contexts)):
        folder = f"{context_dir(context)}/{SEGMENTS_FOLDER}"
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            names = os.listdir(os.path.join(root, *folder.split("/")))
            paths.extend(f"{folder}/{name}" for name in sorted(names) if name.endswith(SEGMENT_SUFFIX))
    return [path for path in paths if _collect(storage, index, root, path)]


def _collect(storage: BaseStorage, index: BundleIndex, root: str, path: str) -> bool:
    """Delete segment `path` if nothing refers to it and nobody writes to it; returns whether it was."""
    if fcntl is None or index.refers_to_segment(path):
        return False
    full = os.path.join(root, *path.split("/"))
    try:
        descriptor = os.open(full, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive and may append more
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            data = handle.read()
        os.unlink(full)
    finally:
        os.close(descriptor)
    _drop_markers(storage, path, data)
    return True


def _drop_markers(storage: BaseStorage, path: str, data: bytes) -> None:
    """Take the lines of deleted segment `path` out of their bundles' removal markers."""
    for _, line in segment_lines(data):
        try:
            manifest = json.loads(line)
            home = manifest_path(str(manifest["context"]), str(manifest["name"]), str(manifest["uuid"]))
        except (ValueError, KeyError, TypeError):
            continue
        marker = removed_marker_path(home)
        refs = removed_refs(storage, marker)
        kept = [ref for ref in refs if not ref.startswith(f"{path}#")]
        try:
            if not kept:
                storage.rm(marker, missing_ok=True)
            elif len(kept) < len(refs):
                storage.touch(marker, json.dumps(kept))
        except StorageError:
            continue
