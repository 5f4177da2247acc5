"""Storage in a folder of this machine, on `os` and `shutil` directly."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from typing import IO, Any

from tether.exceptions import ImproperlyConfigured, StoragePathError
from tether.files.storages._atomic import AtomicWriter, is_temp_name, temp_name
from tether.files.storages.base import BaseStorage, Kind
from tether.files.storages.paths import normalize_path
from tether.files.storages.unnamed import name_unnamed, open_unnamed

__all__ = ["LocalStorage"]

_FILE_SCHEME = "file://"
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _discard_temp(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class LocalStorage(BaseStorage):
    """Files under a local folder; the folder is created on the first write.

    A write gets its name only once complete: on Linux it goes to an unnamed
    file in the target's folder that is then linked into place
    (`tether.files.storages.unnamed`), elsewhere to a hidden temporary file
    moved into place with `os.replace`, which is atomic on POSIX and Windows.

    Args:
        root: the folder, as a path or a `file://` URL; relative paths are
            taken from the current directory.
    """

    def __init__(self, root: str | os.PathLike[str], **options: Any) -> None:
        if options:
            raise ImproperlyConfigured(
                f"LocalStorage takes no options, got {sorted(options)}; remove them from"
                " STORAGE_OPTIONS"
            )
        text = os.fspath(root)
        if text.startswith(_FILE_SCHEME):
            text = text[len(_FILE_SCHEME) :]
        if not text:
            raise ImproperlyConfigured("LocalStorage needs a root folder; set STORAGE_ROOT")
        super().__init__(os.path.abspath(os.path.expanduser(text)))

    def _full(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/")) if key else self.root

    def _kind(self, key: str) -> Kind | None:
        try:
            mode = os.stat(self._full(key)).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        return "directory" if stat.S_ISDIR(mode) else "file"

    def _open_read(self, key: str) -> IO[bytes]:
        return open(self._full(key), "rb")

    def _temp_file(self, key: str) -> tuple[int, str, str]:
        """Create an empty temporary file beside `key`; return (its open descriptor, its path,
        the final path).

        The descriptor is kept rather than the file reopened: reopening truncates,
        and ext4 then flushes the whole file when it is closed, which cost about
        0.4 s per GB written.
        """
        full = self._full(key)
        if os.path.isdir(full):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), full)
        folder, name = os.path.split(full)
        made = False
        while True:
            temp = os.path.join(folder, temp_name(name, os.urandom(6).hex()))
            try:
                # 0o666 so the umask applies, as for any file this process creates.
                descriptor = os.open(temp, _TEMP_FLAGS, 0o666)
            except FileExistsError:  # pragma: no cover - a 48-bit collision
                continue
            except FileNotFoundError:
                # The parents are made only when missing: makedirs on an existing
                # folder costs a failed mkdir, a third of a small file's write.
                if made:
                    raise
                os.makedirs(folder, exist_ok=True)
                made = True
                continue
            return descriptor, temp, full

    def _unnamed_file(self, key: str) -> tuple[int, str] | None:
        """An unnamed file in the folder of `key` (made if missing) and the final path; None where there are none."""
        full = self._full(key)
        if os.path.isdir(full):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), full)
        folder = os.path.dirname(full)
        try:
            descriptor = open_unnamed(folder)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            descriptor = open_unnamed(folder)
        return None if descriptor is None else (descriptor, full)

    def _open_write(self, key: str) -> AtomicWriter:
        unnamed = self._unnamed_file(key)
        if unnamed is not None:
            descriptor, full = unnamed
            raw = os.fdopen(descriptor, "wb")

            def publish() -> None:
                try:
                    raw.flush()
                    name_unnamed(descriptor, full)
                finally:
                    raw.close()

            return AtomicWriter(raw, publish, raw.close, key)
        descriptor, temp, full = self._temp_file(key)
        raw = os.fdopen(descriptor, "wb")

        def commit() -> None:
            raw.close()
            os.replace(temp, full)

        def discard() -> None:
            raw.close()
            _discard_temp(temp)

        return AtomicWriter(raw, commit, discard, key)

    def _list(self, key: str) -> tuple[list[str], list[str]]:
        files: list[str] = []
        dirs: list[str] = []
        with os.scandir(self._full(key)) as entries:
            for entry in entries:
                (dirs if entry.is_dir() else files).append(entry.name)
        return files, dirs

    def _remove(self, key: str, kind: Kind) -> None:
        full = self._full(key)
        if kind == "directory" and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)

    def _makedir(self, key: str) -> None:
        os.makedirs(self._full(key), exist_ok=True)

    def _copy_file(self, src: str, dest: str) -> None:
        unnamed = self._unnamed_file(dest)
        if unnamed is not None:
            descriptor, full = unnamed
            with open(self._full(src), "rb") as source, os.fdopen(descriptor, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
                target.flush()
                name_unnamed(descriptor, full)
            return
        descriptor, temp, full = self._temp_file(dest)
        try:
            with open(self._full(src), "rb") as source, os.fdopen(descriptor, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
            os.replace(temp, full)
        except BaseException:
            _discard_temp(temp)
            raise

    def find(self, path: str = "") -> list[str]:
        """The storage paths of all files below `path`, sorted; `[path]` for a file."""
        key = normalize_path(path)
        kind = self._kind(key)
        if kind != "directory":
            return [key] if kind == "file" else []
        found: list[str] = []
        for folder, _, files in os.walk(self._full(key)):
            relative = os.path.relpath(folder, self.root).replace(os.sep, "/")
            prefix = "" if relative == "." else relative + "/"
            found.extend(prefix + name for name in files if not is_temp_name(name))
        return sorted(found)

    def abspath(self, path: str = "") -> str:
        """The absolute path of `path` on this machine."""
        return self._full(normalize_path(path))

    def local_path(self, path: str = "") -> str | None:
        """The absolute path of `path` on this machine (same as `abspath`)."""
        return self.abspath(path)

    def relpath(self, abspath: str) -> str:
        """The storage path of the local path (or `file://` URL) `abspath`.

        Raises:
            StoragePathError: `abspath` is not inside the root.
        """
        text = os.fspath(abspath)
        if text.startswith(_FILE_SCHEME):
            text = text[len(_FILE_SCHEME) :]
        full = os.path.abspath(text)
        relative = os.path.relpath(full, self.root)
        outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
        if outside or os.path.isabs(relative):
            raise StoragePathError(f"{text!r} is not inside the storage root {self.root!r}")
        return normalize_path("" if relative == os.curdir else relative)
