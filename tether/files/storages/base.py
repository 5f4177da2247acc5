"""The storage interface: a handful of abstract methods and the API built on them.

Every path a storage takes is relative to its root (see `paths`): a leading `/`
is the top of the root, and a path that climbs out of it with `..` is refused.
"""

from __future__ import annotations

import abc
import contextlib
import io
import os
from collections.abc import Iterator
from typing import IO, Any, Literal, cast

from tether.files.storages._atomic import (
    CHUNK_SIZE,
    AtomicTextWriter,
    AtomicWriter,
    copy_stream,
    is_temp_name,
)
from tether.files.storages._transfer import TransferMixin
from tether.files.storages.errors import (
    StorageError,
    StorageExistsError,
    StorageIsADirectoryError,
    StorageNotADirectoryError,
    StorageNotFoundError,
    StoragePathError,
    check_destination,
    translate_os_errors,
)
from tether.files.storages.tracking import note_read, note_write
from tether.files.storages.paths import join_key, normalize_path, run_path, split_key

__all__ = [
    "BaseStorage",
    "StorageError",
    "StoragePathError",
    "StorageNotFoundError",
    "StorageExistsError",
    "StorageIsADirectoryError",
    "StorageNotADirectoryError",
    "normalize_path",
    "run_path",
]

Kind = Literal["file", "directory"]
_MODES = {"r", "rb", "w", "wb", "a", "ab"}
_BYTES = bytes | bytearray | memoryview


class BaseStorage(TransferMixin, abc.ABC):
    """A tree of files under `root`, read and written as streams.

    A backend implements `_kind`, `_open_read`, `_open_write`, `_list`,
    `_remove`, `_makedir` and `abspath`, all on normalized keys; everything
    else (text modes, append, copies of directories, walking, errors) is built
    here. Backends override `_copy_file`, `find`, `relpath` or the transfer
    hooks (`_put_files`, `_get_files`) when they can do better.

    Attributes:
        root: where the storage lives: a folder or a URL.
    """

    root: str
    chunk_size: int = CHUNK_SIZE

    def __init__(self, root: str | os.PathLike[str], **options: Any) -> None:
        """Set `root`; every backend is built as `Backend(root, **options)`.

        Args:
            root: the folder or URL that paths are relative to (STORAGE_ROOT);
                a backend normalizes it before calling this.
            **options: the backend's options (STORAGE_OPTIONS).
        """
        self.root = os.fspath(root)

    # --- the abstract surface: keys are normalized, "" is the root -------------------

    @abc.abstractmethod
    def _kind(self, key: str) -> Kind | None:
        """Whether `key` is a file, a directory, or missing (None)."""

    @abc.abstractmethod
    def _open_read(self, key: str) -> IO[bytes]:
        """A binary reader; raises FileNotFoundError if there is no such file."""

    @abc.abstractmethod
    def _open_write(self, key: str) -> AtomicWriter:
        """An atomic binary writer for `key`, its parents created.

        Raises IsADirectoryError if `key` is a directory and NotADirectoryError
        (or FileExistsError) if a parent is a file.
        """

    @abc.abstractmethod
    def _list(self, key: str) -> tuple[list[str], list[str]]:
        """Names of the files and of the directories directly in directory `key`."""

    @abc.abstractmethod
    def _remove(self, key: str, kind: Kind) -> None:
        """Remove the file, or the directory with everything below it, at `key`."""

    @abc.abstractmethod
    def _makedir(self, key: str) -> None:
        """Create directory `key` and its parents; an existing directory is fine."""

    @abc.abstractmethod
    def abspath(self, path: str = "") -> str:
        """The full path or URL of `path`, e.g. `/data/runs/x` or `s3://bucket/runs/x`."""

    # --- what backends may override ----------------------------------------------------

    def _copy_file(self, src: str, dest: str) -> None:
        """Copy file `src` to `dest` atomically; the default streams through this process."""
        with self._open_read(src) as source, self._open_write(dest) as target:
            copy_stream(source, target, self.chunk_size)

    def _copy_directory(self, src: str, dest: str) -> None:
        """Copy directory `src` into `dest` (which may exist), file by file with `_copy_file`."""
        for folder, _, files in self.walk(src):
            copy_folder = join_key(dest, folder[len(src) + 1 :])
            self._makedir(copy_folder)
            for name in files:
                self._copy_file(join_key(folder, name), join_key(copy_folder, name))

    def local_path(self, path: str = "") -> str | None:
        """The path of `path` on this machine's filesystem, or None if the storage is remote."""
        return None

    def relpath(self, abspath: str) -> str:
        """The storage path of `abspath` (what `abspath()` returned); inverse of `abspath`.

        Raises:
            StoragePathError: `abspath` is not inside the root.
        """
        root = self.abspath("").rstrip("/")
        text = os.fspath(abspath).rstrip("/")
        if text == root:
            return ""
        if not text.startswith(root + "/"):
            raise StoragePathError(f"{text!r} is not inside the storage root {self.root!r}")
        return normalize_path(text[len(root) + 1 :])

    # --- the public API ------------------------------------------------------------------

    def touch(self, path: str, content: str | bytes | IO[Any] = b"") -> None:
        """Write `content` to the file `path`, replacing it atomically; parents are created.

        Args:
            path: the file to write.
            content: text (written as UTF-8), bytes, or a readable file object,
                which is streamed in chunks.

        Raises:
            TypeError: `content` is none of these.
            StorageError: the file cannot be written (e.g. `path` is a directory).
        """
        key = self._file_key(path)
        if not isinstance(content, _BYTES | str) and not hasattr(content, "read"):
            raise TypeError(
                f"cannot write {type(content).__name__} to {key!r}: give str, bytes or a"
                " readable file object"
            )
        note_write(self.root, key)
        with self._guard(key, "write"):
            with self._open_write(key) as target:
                if isinstance(content, str):
                    target.write(content.encode("utf-8"))
                elif isinstance(content, _BYTES):
                    target.write(content)
                else:
                    copy_stream(content, target, self.chunk_size)

    def open(
        self,
        path: str,
        mode: str = "rb",
        *,
        encoding: str = "utf-8",
        newline: str | None = None,
    ) -> IO[Any]:
        """Open the file `path` as a file object, to use in a `with` block.

        Args:
            path: the file to open.
            mode: `r`/`rb` read; `w`/`wb` write and `a`/`ab` append, atomically:
                the data appears under `path` only when the file is closed
                without error, and a `with` block that raises writes nothing.
            encoding: the text encoding of the text modes.
            newline: newline handling of the text modes, as for `open()`.

        Raises:
            StorageNotFoundError: reading a file that does not exist.
            StorageIsADirectoryError: `path` is a directory.
            StorageError: the mode is not one of the above.
        """
        plain = mode.replace("t", "")
        if plain not in _MODES:
            raise StorageError(f"mode {mode!r} is not supported; use r, rb, w, wb, a or ab")
        key = self._file_key(path)
        binary = "b" in plain
        if plain[0] == "r":
            handle: IO[Any] = self._reader(key)
            note_read(self.root, key)
            if binary:
                return handle
            return io.TextIOWrapper(handle, encoding=encoding, newline=newline)
        note_write(self.root, key)
        with self._guard(key, "write"):
            writer = self._open_write(key)
            if plain[0] == "a" and self._kind(key) == "file":
                try:
                    with self._open_read(key) as previous:
                        copy_stream(previous, writer, self.chunk_size)
                except BaseException:
                    writer.abort()
                    writer.close()
                    raise
        if binary:
            return cast(IO[bytes], writer)
        return AtomicTextWriter(writer, encoding=encoding, newline=newline, write_through=False)

    def read(self, path: str, mode: str = "rb", *, encoding: str = "utf-8") -> bytes | str:
        """The whole content of the file `path`: bytes for `rb`, text for `r`."""
        if mode.replace("t", "") not in ("r", "rb"):
            raise StorageError(f"read() takes mode 'r' or 'rb', not {mode!r}; use open() to write")
        with self.open(path, mode, encoding=encoding) as handle:
            return handle.read()

    def rm(self, path: str, recursive: bool = False, missing_ok: bool = False) -> None:
        """Remove the file `path`, or the directory `path` with `recursive=True`.

        Raises:
            StorageNotFoundError: nothing is at `path` and `missing_ok` is False.
            StorageIsADirectoryError: `path` is a directory and `recursive` is False.
            StoragePathError: `path` is the root itself.
        """
        key = normalize_path(path)
        if not key:
            raise StoragePathError(
                f"refusing to remove the storage root {self.root!r}; remove the paths inside it"
            )
        kind = self._kind(key)
        if kind is None:
            if missing_ok:
                return
            raise StorageNotFoundError(f"cannot remove {key!r}: it does not exist in {self.root}")
        if kind == "directory" and not recursive:
            raise StorageIsADirectoryError(
                f"cannot remove {key!r}: it is a directory; pass recursive=True to remove it"
                " and everything in it"
            )
        with self._guard(key, "remove"):
            self._remove(key, kind)

    def cp(self, src: str, dest: str, overwrite: bool = False) -> None:
        """Copy the file or directory `src` to `dest`, streamed, each file atomically.

        A directory is copied with everything below it; with `overwrite=True`
        into an existing directory, files of the same name are replaced and
        other files there are kept.

        Raises:
            StorageNotFoundError: `src` does not exist.
            StorageExistsError: `dest` exists and `overwrite` is False.
            StoragePathError: `dest` is `src` or inside it.
        """
        source, target = normalize_path(src), normalize_path(dest)
        kind = self._kind(source)
        if kind is None:
            raise StorageNotFoundError(f"cannot copy {source!r}: it does not exist in {self.root}")
        if target == source or source == "" or target.startswith(source + "/"):
            raise StoragePathError(f"cannot copy {source!r} to {target!r}, which is inside it")
        check_destination("copy", source, kind, target, self._kind(target), overwrite)
        note_read(self.root, source)
        note_write(self.root, target)
        with self._guard(target, "copy to"):
            if kind == "file":
                self._copy_file(source, target)
            else:
                self._copy_directory(source, target)

    def ls(self, path: str = "") -> tuple[list[str], list[str]]:
        """The names of the files and of the directories directly in `path`, each sorted.

        Raises:
            StorageNotFoundError: `path` does not exist (the root never raises).
            StorageNotADirectoryError: `path` is a file.
        """
        key = normalize_path(path)
        kind = self._kind(key)
        if kind is None:
            if not key:
                return [], []
            raise StorageNotFoundError(f"cannot list {key!r}: it does not exist in {self.root}")
        if kind == "file":
            raise StorageNotADirectoryError(f"cannot list {key!r}: it is a file, not a directory")
        return self._sorted_list(key)

    def walk(self, path: str = "") -> Iterator[tuple[str, list[str], list[str]]]:
        """Like `os.walk`: `(folder, directory names, file names)` for every folder below `path`.

        Folders are storage paths, visited top-down in sorted order; removing names
        from the yielded directory list prunes the walk. A missing path yields nothing.
        """
        top = normalize_path(path)
        if self._kind(top) != "directory":
            return
        pending = [top]
        while pending:
            folder = pending.pop()
            try:
                files, dirs = self._sorted_list(folder)
            except StorageNotFoundError:
                continue
            yield folder, dirs, files
            pending.extend(join_key(folder, name) for name in reversed(dirs))

    def find(self, path: str = "") -> list[str]:
        """The storage paths of all files below `path`, sorted; `[path]` for a file."""
        key = normalize_path(path)
        if self._kind(key) == "file":
            return [key]
        return sorted(
            join_key(folder, name) for folder, _, files in self.walk(key) for name in files
        )

    def mkdir(self, path: str, make_parents: bool = False) -> None:
        """Create the directory `path`; an existing directory is left as it is.

        Raises:
            StorageNotFoundError: the parent is missing and `make_parents` is False.
            StorageExistsError: a file is at `path`.
        """
        key = normalize_path(path)
        kind = self._kind(key)
        if kind == "directory":
            return
        if kind == "file":
            raise StorageExistsError(f"cannot create directory {key!r}: a file is there")
        parent, _ = split_key(key)
        if parent and not make_parents and self._kind(parent) != "directory":
            raise StorageNotFoundError(
                f"cannot create directory {key!r}: its parent {parent!r} does not exist;"
                " pass make_parents=True"
            )
        with self._guard(key, "create directory"):
            self._makedir(key)

    def isdir(self, path: str) -> bool:
        """Whether `path` is a directory; False if it is missing."""
        return self._kind(normalize_path(path)) == "directory"

    def isfile(self, path: str) -> bool:
        """Whether `path` is a file; False if it is missing."""
        return self._kind(normalize_path(path)) == "file"

    def exists(self, path: str) -> bool:
        """Whether a file or a directory is at `path`."""
        return self._kind(normalize_path(path)) is not None

    def runpath(self, path: str = "") -> str:
        """The storage path of `path` inside the current run folder.

        Raises:
            StoragePathError: `path` climbs out of the run folder.
        """
        return run_path(path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r})"

    # --- helpers -------------------------------------------------------------------------

    def _file_key(self, path: str) -> str:
        key = normalize_path(path)
        if not key:
            raise StoragePathError(f"{path!r} names the storage root, not a file; give a file path")
        return key

    def _sorted_list(self, key: str) -> tuple[list[str], list[str]]:
        with self._guard(key, "list"):
            files, dirs = self._list(key)
        return sorted(name for name in files if not is_temp_name(name)), sorted(dirs)

    def _reader(self, key: str) -> IO[bytes]:
        try:
            with self._guard(key, "read"):
                return self._open_read(key)
        except StorageNotFoundError:
            if self._kind(key) == "directory":
                raise StorageIsADirectoryError(
                    f"cannot read {key!r}: it is a directory; read a file inside it"
                ) from None
            raise

    def _guard(self, key: str, action: str) -> contextlib.AbstractContextManager[None]:
        """Turn the backend's OSErrors into StorageErrors that name `key`."""
        return translate_os_errors(key, action, self.root)
