"""Storage in this process's memory: for tests, notebooks and throw-away runs."""

from __future__ import annotations

import errno
import io
import os
import threading
from typing import IO, Any, Union

from tether.exceptions import ImproperlyConfigured, StoragePathError
from tether.files.storages._atomic import AtomicWriter
from tether.files.storages.base import BaseStorage, Kind
from tether.files.storages.paths import normalize_path, split_key

__all__ = ["MemoryStorage"]

SCHEME = "memory://"

# A folder maps names to files (bytes, immutable, so readers never see a change)
# or to sub-folders.
_Folder = dict[str, Union[bytes, "_Folder"]]


class _Store:
    __slots__ = ("tree", "lock")

    def __init__(self) -> None:
        self.tree: _Folder = {}
        self.lock = threading.RLock()


# Named stores live as long as the process, as in fsspec's memory filesystem,
# so that `memory://name` means the same files to every storage that names it.
_named_stores: dict[str, _Store] = {}
_named_lock = threading.Lock()


def _named_store(name: str) -> _Store:
    with _named_lock:
        return _named_stores.setdefault(name, _Store())


def _error(cls: type[OSError], code: int, key: str) -> OSError:
    return cls(code, os.strerror(code), key)


class MemoryStorage(BaseStorage):
    """Files held in memory, in this process only.

    `MemoryStorage()` or a root of `memory://` gets a private store that no
    other storage sees. `memory://name/prefix` uses the store `name`, shared by
    every storage of this process that names it, with `prefix` as the root
    folder inside it.

    Args:
        root: `None`, `memory://`, or `memory://name[/prefix]`.
    """

    def __init__(self, root: str | None = None, **options: Any) -> None:
        if options:
            raise ImproperlyConfigured(
                f"MemoryStorage takes no options, got {sorted(options)}; remove them from"
                " STORAGE_OPTIONS"
            )
        text = root or SCHEME
        if not text.lower().startswith(SCHEME):
            raise ImproperlyConfigured(
                f"MemoryStorage root {text!r} must start with {SCHEME!r}, e.g. 'memory://scratch'"
            )
        name, _, prefix = normalize_path(text[len(SCHEME) :]).partition("/")
        self._store = _named_store(name) if name else _Store()
        self._prefix = [part for part in prefix.split("/") if part]
        super().__init__(SCHEME + "/".join(filter(None, (name, prefix))))

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError(
            "a MemoryStorage cannot leave its process; use a local folder or a URL as"
            " STORAGE_ROOT for executors that start processes"
        )

    def _parts(self, key: str) -> list[str]:
        return self._prefix + key.split("/") if key else list(self._prefix)

    def _node(self, key: str) -> bytes | _Folder | None:
        node: bytes | _Folder = self._store.tree
        for part in self._parts(key):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def _folder(self, parts: list[str], key: str) -> _Folder:
        """The folder at `parts`, created with its parents (the store's lock is held)."""
        folder = self._store.tree
        for part in parts:
            child = folder.setdefault(part, {})
            if not isinstance(child, dict):
                raise _error(NotADirectoryError, errno.ENOTDIR, key)
            folder = child
        return folder

    def _kind(self, key: str) -> Kind | None:
        with self._store.lock:
            node = self._node(key)
        if node is None:
            return None
        return "directory" if isinstance(node, dict) else "file"

    def _open_read(self, key: str) -> IO[bytes]:
        with self._store.lock:
            node = self._node(key)
        if node is None:
            raise _error(FileNotFoundError, errno.ENOENT, key)
        if isinstance(node, dict):
            raise _error(IsADirectoryError, errno.EISDIR, key)
        return io.BytesIO(node)

    def _put(self, key: str, data: bytes) -> None:
        *parents, name = self._parts(key)
        with self._store.lock:
            folder = self._folder(parents, key)
            if isinstance(folder.get(name), dict):
                raise _error(IsADirectoryError, errno.EISDIR, key)
            folder[name] = data

    def _open_write(self, key: str) -> AtomicWriter:
        *parents, name = self._parts(key)
        with self._store.lock:
            if isinstance(self._folder(parents, key).get(name), dict):
                raise _error(IsADirectoryError, errno.EISDIR, key)
        buffer = io.BytesIO()

        def commit() -> None:
            self._put(key, buffer.getvalue())

        return AtomicWriter(buffer, commit, buffer.close, key)

    def _list(self, key: str) -> tuple[list[str], list[str]]:
        with self._store.lock:
            node = self._node(key)
            if not isinstance(node, dict):
                raise _error(FileNotFoundError, errno.ENOENT, key)
            entries = list(node.items())
        files = [name for name, value in entries if not isinstance(value, dict)]
        return files, [name for name, value in entries if isinstance(value, dict)]

    def _remove(self, key: str, kind: Kind) -> None:
        parent, name = split_key(key)
        with self._store.lock:
            node = self._node(parent)
            if isinstance(node, dict):
                node.pop(name, None)

    def _makedir(self, key: str) -> None:
        with self._store.lock:
            self._folder(self._parts(key), key)

    def _copy_file(self, src: str, dest: str) -> None:
        with self._store.lock:
            data = self._node(src)
            if not isinstance(data, bytes):
                raise _error(FileNotFoundError, errno.ENOENT, src)
            self._put(dest, data)

    def abspath(self, path: str = "") -> str:
        """The `memory://` URL of `path` (`memory:///path` in a private store)."""
        key = normalize_path(path)
        return f"{self.root}/{key}" if key else self.root

    def relpath(self, abspath: str) -> str:
        """The storage path of the URL `abspath`; inverse of `abspath`.

        Raises:
            StoragePathError: `abspath` is not inside the root.
        """
        if abspath == self.root:
            return ""
        if not abspath.startswith(self.root + "/"):
            raise StoragePathError(f"{abspath!r} is not inside the storage root {self.root!r}")
        return normalize_path(abspath[len(self.root) + 1 :])
