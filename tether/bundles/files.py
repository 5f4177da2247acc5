"""Files in bundles: the staging folder of an open bundle, and files taken from storage.

An open bundle writes its files (`make_file`, `make_directory`, `copy_in_file`)
into a private staging folder on this machine, named after the process, under
`BASE_DIR/.tether/bundles/staging/`. Closing the bundle stores those files as
blobs; closing or abandoning it removes the folder, and so does the garbage
collector if the bundle is dropped open. Folders left by processes that died
are removed the next time a process stages a bundle.

Closing also collects the files the data names (`Path`s, `LocalFile`s,
`StorageFile`s) and gives each a path inside the bundle, hashing them as it goes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tether.bundles.blobs import digest_file, digest_stream
from tether.bundles.errors import BundleDataError

if TYPE_CHECKING:
    from tether.files.storages import BaseStorage

__all__ = ["FileCollector", "LocalFile", "PendingFile", "StorageFile", "Staging", "tether_dir"]

_swept: set[str] = set()


def tether_dir(base_dir: str | os.PathLike[str]) -> str:
    """The project's private folder for bundles: `BASE_DIR/.tether/bundles`."""
    return os.path.join(os.fspath(base_dir), ".tether", "bundles")


@dataclass(frozen=True)
class LocalFile:
    """A local file (or folder) to put in a bundle's data under a chosen path.

    A plain `Path` in the data is kept under its file name; a `LocalFile` says
    where it goes inside the bundle. Reading the bundle gives a local `Path`.

    Attributes:
        path: the file or folder on this machine.
        name: its path inside the bundle, e.g. `inputs/a/x.csv` (default: its name).
    """

    path: str | os.PathLike[str]
    name: str | None = None


@dataclass(frozen=True)
class StorageFile:
    """A file (or a folder of files) in storage, to put in a bundle's data.

    Closing the bundle streams it from storage into the bundle's blobs; reading
    the bundle gives it back as a local `Path` (a folder as a folder).

    Attributes:
        path: its path in the storage (relative to the storage root).
        name: its path inside the bundle (default: the last part of `path`).
        storage: the storage it is in (default: `default_storage`).
    """

    path: str
    name: str | None = None
    storage: BaseStorage | None = None

    def resolve_storage(self) -> BaseStorage:
        """The storage the file is in."""
        if self.storage is not None:
            return self.storage
        from tether.files.storages import default_storage

        return default_storage


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _sweep(root: str) -> None:
    """Remove staging folders whose process is gone (once per process and folder)."""
    if root in _swept:
        return
    _swept.add(root)
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        try:
            pid = int(name.split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _remove_own(path: str, pid: int) -> None:
    """Delete a staging folder, unless this is a forked child (the folder is its parent's)."""
    if os.getpid() == pid:
        shutil.rmtree(path, ignore_errors=True)


class Staging:
    """The staging folder of one open bundle, created on first use.

    Args:
        base_dir: the project folder (`BASE_DIR`).
    """

    def __init__(self, base_dir: str | os.PathLike[str]) -> None:
        self.root = os.path.join(tether_dir(base_dir), "staging")
        self._path: str | None = None
        self._finalizer: Any = None

    @property
    def created(self) -> bool:
        """Whether the folder exists (something was staged)."""
        return self._path is not None

    @property
    def path(self) -> str:
        """The folder, created now if it was not yet."""
        if self._path is None:
            os.makedirs(self.root, exist_ok=True)
            _sweep(self.root)
            self._path = tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=self.root)
            self._finalizer = weakref.finalize(self, _remove_own, self._path, os.getpid())
        return self._path

    def contains(self, path: str) -> str | None:
        """The path of the local `path` relative to the folder (with `/`), or None if outside."""
        if self._path is None:
            return None
        relative = os.path.relpath(os.path.realpath(path), os.path.realpath(self._path))
        if relative == os.curdir or relative.startswith(os.pardir + os.sep) or relative == os.pardir:
            return None
        return relative.replace(os.sep, "/")

    def target(self, name: str) -> Path:
        """The local path of `name` inside the folder, its parents created.

        Raises:
            ValueError: `name` is empty or climbs out of the folder (a leading `/` is ignored).
        """
        text = os.fspath(name).replace("\\", "/").strip("/")
        parts = [part for part in text.split("/") if part not in ("", ".")]
        if not parts or ".." in parts:
            raise ValueError(f"{name!r} is not a path inside a bundle; give a relative path such as 'out/model.pkl'")
        full = os.path.join(self.path, *parts)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        return Path(full)

    def remove(self) -> None:
        """Delete the folder and everything in it."""
        if self._finalizer is not None:
            self._finalizer()
        self._path = None
        self._finalizer = None


@dataclass
class PendingFile:
    """A file to store as a blob when the bundle closes."""

    path: str
    hash: str
    size: int
    source: str | None = None
    opener: Callable[[], IO[bytes]] | None = None

    def open(self) -> IO[bytes]:
        """Its content, from the local file or from storage."""
        if self.source is not None:
            return open(self.source, "rb")
        assert self.opener is not None
        return self.opener()


def _bundle_path(name: str) -> str:
    parts = [part for part in str(name).replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise BundleDataError(f"{name!r} is not a path inside a bundle; give a relative path such as 'out/x.csv'")
    return "/".join(parts)


class FileCollector:
    """Collects the files of one bundle's data and gives each a unique path inside the bundle.

    A file keeps its path in the staging folder, or its name; a second file
    wanting a path already taken goes under `2/`, `3/`, ..., so files of the
    same name from different folders are all kept. The same file named twice
    in the data is stored once.

    Args:
        staging: the open bundle's staging folder, if any.
    """

    def __init__(self, staging: Staging | None = None) -> None:
        self.staging = staging
        self.files: list[PendingFile] = []
        self._taken: set[str] = set()
        self._parents: set[str] = set()
        self._nodes: dict[Any, dict[str, Any]] = {}

    def _free(self, path: str) -> bool:
        if path in self._taken or path in self._parents:
            return False
        parts = path.split("/")
        return not any("/".join(parts[:end]) in self._taken for end in range(1, len(parts)))

    def _claim(self, identity: Any, preferred: str) -> str:
        """The bundle path for a new file or folder: `preferred`, or `<n>/preferred` if taken."""
        path, number = preferred, 1
        while not self._free(path):
            number += 1
            path = f"{number}/{preferred}"
        self._taken.add(path)
        parts = path.split("/")
        self._parents.update("/".join(parts[:end]) for end in range(1, len(parts)))
        return path

    def local(self, path: str, name: str | None = None) -> dict[str, Any]:
        """The node of a local file or folder, which is stored with the bundle.

        Args:
            path: the file or folder.
            name: its path inside the bundle (default: its path in the staging
                folder if it is there, else its file name).
        """
        real = os.path.realpath(path)
        identity = real if name is None else (real, name)
        if identity in self._nodes:
            return self._nodes[identity]
        if not os.path.exists(real):
            raise BundleDataError(
                f"the bundle's data names {path}, which does not exist; write the file before"
                " closing the bundle, or remove it from the data"
            )
        inside = self.staging.contains(real) if self.staging is not None else None
        preferred = _bundle_path(name) if name else inside or os.path.basename(real.rstrip(os.sep)) or "file"
        claimed = self._claim(identity, preferred)
        if os.path.isdir(real):
            files, empty = [], []
            for folder, dirs, names in os.walk(real):
                dirs.sort()
                relative = os.path.relpath(folder, real).replace(os.sep, "/")
                prefix = "" if relative == "." else relative + "/"
                if not dirs and not names and prefix:
                    empty.append(prefix.rstrip("/"))
                for filename in sorted(names):
                    source = os.path.join(folder, filename)
                    digest, size = digest_file(source)
                    self.files.append(PendingFile(f"{claimed}/{prefix}{filename}", digest, size, source=source))
                    files.append([prefix + filename, digest, size])
            node = {"type": "directory", "path": claimed, "files": files, "empty_dirs": empty}
        else:
            digest, size = digest_file(real)
            self.files.append(PendingFile(claimed, digest, size, source=real))
            node = {"type": "file", "path": claimed, "hash": digest, "size": size}
        self._nodes[identity] = node
        return node

    def stored(self, value: StorageFile) -> dict[str, Any]:
        """The node of a file or folder in storage, which is copied into the bundle."""
        storage = value.resolve_storage()
        identity = ("storage", storage.root, value.path)
        if identity in self._nodes:
            return self._nodes[identity]
        key = value.path.strip("/")
        if not storage.exists(key):
            raise BundleDataError(f"the bundle's data names {key!r} in storage {storage.root}, which does not exist")
        claimed = self._claim(identity, _bundle_path(value.name or key.rsplit("/", 1)[-1]))

        def opener(path: str) -> Callable[[], IO[bytes]]:
            return lambda: storage.open(path, "rb")

        def add(path: str, logical: str) -> tuple[str, int]:
            with storage.open(path, "rb") as stream:
                digest, size = digest_stream(stream)
            self.files.append(PendingFile(logical, digest, size, opener=opener(path)))
            return digest, size

        if storage.isdir(key):
            files = []
            for path in storage.find(key):
                relative = path[len(key) + 1 :]
                files.append([relative, *add(path, f"{claimed}/{relative}")])
            node = {"type": "directory", "path": claimed, "files": files, "empty_dirs": []}
        else:
            digest, size = add(key, claimed)
            node = {"type": "file", "path": claimed, "hash": digest, "size": size}
        self._nodes[identity] = node
        return node
