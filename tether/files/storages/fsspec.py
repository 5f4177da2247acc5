"""Storage at any fsspec URL: `s3://`, `gs://`, `memory://`, `file://`, ...

The generic behaviour of remote storages lives here; `S3Storage` and
`GoogleStorage` subclass it and override what their service does better.
"""

from __future__ import annotations

import difflib
import errno
import io
import os
from typing import IO, TYPE_CHECKING, Any

from tether.exceptions import ImproperlyConfigured, StoragePathError
from tether.files.storages._atomic import AtomicWriter, is_temp_name, temp_name
from tether.files.storages.base import BaseStorage, Kind
from tether.files.storages.paths import join_key, normalize_path, split_key
from tether.utils import install_hint

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["FsspecStorage"]


def _protocol(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "file"


def filesystem_for(url: str, **options: Any) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem serving `url` and the path of `url` inside it.

    Raises:
        ImproperlyConfigured: fsspec, or the driver the URL needs, is not
            installed, or no driver knows the URL's protocol.
    """
    protocol = _protocol(url)
    try:
        from fsspec.core import url_to_fs
        from fsspec.registry import known_implementations
    except ImportError as exc:  # pragma: no cover - fsspec is a dependency
        raise ImproperlyConfigured(
            f"storage at {url!r} needs fsspec; run {install_hint('fsspec')}"
        ) from exc
    try:
        return url_to_fs(url, **options)
    except ImportError as exc:
        driver = known_implementations.get(protocol, {}).get("class", protocol)
        module = driver.split(".", 1)[0]
        raise ImproperlyConfigured(
            f"storage at {url!r} needs the {module} package for {protocol}://; run"
            f" {install_hint(module)}"
        ) from exc
    except ValueError as exc:
        if protocol in known_implementations:
            raise ImproperlyConfigured(f"storage at {url!r} is misconfigured: {exc}") from exc
        close = difflib.get_close_matches(protocol, list(known_implementations), n=3, cutoff=0.5)
        suggestion = f" (did you mean {' or '.join(f'{name}://' for name in close)}?)" if close else ""
        raise ImproperlyConfigured(
            f"storage at {url!r}: unknown URL scheme {protocol!r}{suggestion}; use a local path,"
            " file://, memory://, s3://, gs://, or a scheme of fsspec.available_protocols()"
            " with its driver installed"
        ) from exc
    except TypeError as exc:
        raise ImproperlyConfigured(
            f"storage at {url!r} rejected its options ({exc}); fix STORAGE_OPTIONS"
        ) from exc


def has_magic(path: str) -> bool:
    """Whether fsspec's path expansion (rm, mv, copy) would read `path` as a glob."""
    return any(char in path for char in "*?[")


def _protocols(fs: AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


class FsspecStorage(BaseStorage):
    """Files at an fsspec URL; every operation goes through the URL's filesystem.

    Writes go to a hidden temporary key beside the target and are moved into
    place on close, so a failed write never shows under the real name; on
    object stores that costs a server-side copy, which subclasses may avoid by
    overriding `_open_write`.

    Args:
        root: the URL of the root folder, e.g. `s3://bucket/prefix`.
        **options: passed to the filesystem (credentials, endpoint, ...).

    Attributes:
        fs: the fsspec filesystem.
    """

    def __init__(self, root: str | os.PathLike[str], **options: Any) -> None:
        url = os.fspath(root)
        self.fs, path = filesystem_for(url, **options)
        self._root_path = path.rstrip("/") or path
        super().__init__(self.fs.unstrip_protocol(self._root_path))

    def _full(self, key: str) -> str:
        if not key:
            return self._root_path
        return f"{self._root_path.rstrip('/')}/{key}"

    def _key_of(self, full: str) -> str:
        full = self.fs._strip_protocol(full)
        root = self._root_path.rstrip("/")
        if full.rstrip("/") == root:
            return ""
        if root and not full.startswith(root + "/"):
            raise StoragePathError(f"{full!r} is not inside the storage root {self.root!r}")
        return normalize_path(full[len(root) :])

    def _kind(self, key: str) -> Kind | None:
        try:
            info = self.fs.info(self._full(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return "directory" if info.get("type") == "directory" else "file"

    def _open_read(self, key: str) -> IO[bytes]:
        handle = self.fs.open(self._full(key), "rb")
        if "memory" in _protocols(self.fs):
            # fsspec's memory filesystem hands every reader its one stored buffer, so
            # two open readers would share a position; give each its own view.
            return io.BytesIO(handle.getvalue())
        return handle

    def _make_parents(self, key: str) -> None:
        """Create the folders above `key`, for filesystems that have real folders.

        Raises:
            NotADirectoryError: the nearest existing folder above `key` is a file
                (some filesystems, such as fsspec's memory one, would allow it).
        """
        parent, _ = split_key(key)
        above = parent
        while above:
            kind = self._kind(above)
            if kind == "file":
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), key)
            if kind == "directory":
                break
            above, _ = split_key(above)
        self.fs.makedirs(self._full(parent), exist_ok=True)

    def _temp_key(self, key: str) -> str:
        parent, name = split_key(key)
        return join_key(parent, temp_name(name, os.urandom(6).hex()))

    def _open_write(self, key: str) -> AtomicWriter:
        full = self._full(key)
        if self.fs.isdir(full):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), key)
        self._make_parents(key)
        temp = self._full(self._temp_key(key))
        raw = self.fs.open(temp, "wb")

        def commit() -> None:
            raw.close()
            self._move(temp, full)

        def discard() -> None:
            raw.close()
            self._rm_quietly(temp)

        return AtomicWriter(raw, commit, discard, key)

    def _move(self, src: str, dest: str) -> None:
        """Move one file; fsspec's generic `mv` would read `*?[` in names as globs."""
        from fsspec.implementations.local import LocalFileSystem

        if isinstance(self.fs, LocalFileSystem):
            self.fs.mv(src, dest)  # a rename, atomic on one filesystem
        else:
            self.fs.cp_file(src, dest)
            self.fs.rm_file(src)

    def _rm_quietly(self, full: str) -> None:
        try:
            self.fs.rm_file(full)
        except FileNotFoundError:
            pass

    def _list(self, key: str) -> tuple[list[str], list[str]]:
        files: list[str] = []
        dirs: list[str] = []
        for entry in self.fs.ls(self._full(key), detail=True):
            name = self._key_of(entry["name"]).rpartition("/")[2]
            if name:
                (dirs if entry.get("type") == "directory" else files).append(name)
        return files, dirs

    def _remove(self, key: str, kind: Kind) -> None:
        full = self._full(key)
        if kind == "file":
            self.fs.rm_file(full)
        elif not has_magic(full):
            self.fs.rm(full, recursive=True)
        else:
            # fsspec's rm reads `*?[` in the folder's name as globs: remove one by one.
            found = self.fs.find(full, withdirs=True, detail=True)
            folders = [full] + [name for name, info in found.items() if info["type"] == "directory"]
            for name, info in found.items():
                if info["type"] != "directory":
                    self.fs.rm_file(name)
            for folder in sorted(folders, key=len, reverse=True):
                try:
                    self.fs.rmdir(folder)
                except (OSError, NotImplementedError):
                    pass

    def _makedir(self, key: str) -> None:
        self.fs.makedirs(self._full(key), exist_ok=True)

    def _copy_file(self, src: str, dest: str) -> None:
        full = self._full(dest)
        if self.fs.isdir(full):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), dest)
        self._make_parents(dest)
        temp = self._full(self._temp_key(dest))
        try:
            self.fs.cp_file(self._full(src), temp)
            self._move(temp, full)
        except BaseException:
            self._rm_quietly(temp)
            raise

    def find(self, path: str = "") -> list[str]:
        """The storage paths of all files below `path`, sorted; `[path]` for a file."""
        key = normalize_path(path)
        kind = self._kind(key)
        if kind != "directory":
            return [key] if kind == "file" else []
        found = (self._key_of(name) for name in self.fs.find(self._full(key)))
        return sorted(name for name in found if not is_temp_name(name.rpartition("/")[2]))

    def abspath(self, path: str = "") -> str:
        """The URL of `path`."""
        return self.fs.unstrip_protocol(self._full(normalize_path(path)))

    def relpath(self, abspath: str) -> str:
        """The storage path of the URL (or filesystem path) `abspath`.

        Raises:
            StoragePathError: `abspath` is not inside the root.
        """
        return self._key_of(os.fspath(abspath))

    def local_path(self, path: str = "") -> str | None:
        """The path on this machine for a `file://` root, else None."""
        from fsspec.implementations.local import LocalFileSystem

        if isinstance(self.fs, LocalFileSystem):
            return self._full(normalize_path(path))
        return None

