"""Copies between this machine's files and a storage: `upload` and `download`.

`BaseStorage` takes these methods from `TransferMixin`. Each file is copied
atomically (on the storage by its atomic writers, on this machine by a
temporary file moved into place), several files at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from tether.files.storages._atomic import copy_stream, is_temp_name, temp_name
from tether.files.storages._config import setting
from tether.files.storages.errors import (
    check_destination,
    StorageIsADirectoryError,
    StorageNotADirectoryError,
    StorageNotFoundError,
)
from tether.files.storages.paths import join_key, normalize_path, parent_keys

if TYPE_CHECKING:
    from tether.files.storages.base import BaseStorage, Kind

__all__ = ["TransferMixin", "run_concurrently", "write_local"]

# (local path, storage key) for uploads, (storage key, local path) for downloads.
Pair = tuple[str, str]


def local_tree(folder: str) -> tuple[list[str], list[Pair]]:
    """The empty folders and the files below the local `folder`, as keys relative to it."""
    empty: list[str] = []
    files: list[Pair] = []
    for current, dirs, names in os.walk(folder):
        dirs.sort()
        relative = os.path.relpath(current, folder).replace(os.sep, "/")
        prefix = "" if relative == "." else relative
        names = sorted(name for name in names if not is_temp_name(name))
        files.extend((os.path.join(current, name), join_key(prefix, name)) for name in names)
        if not names and not dirs:
            empty.append(prefix)
    return empty, files


def check_conflicts(existing: Iterable[str], keys: Iterable[str]) -> None:
    """Refuse to write `keys` where `existing` files make a folder a file, or a file a folder.

    Raises:
        StorageIsADirectoryError: a key is a folder of an existing file.
        StorageNotADirectoryError: a folder of a key is an existing file.
    """
    files = set(existing)
    folders = {parent for name in files for parent in parent_keys(name)}
    for key in keys:
        if key in folders:
            raise StorageIsADirectoryError(f"cannot write {key!r}: it is a directory")
        for parent in parent_keys(key):
            if parent in files:
                raise StorageNotADirectoryError(
                    f"cannot write {key!r}: {parent!r} is a file, not a directory"
                )


def run_concurrently(function: Callable[..., Any], items: Sequence[Pair], concurrency: int) -> None:
    """Call `function(*item)` for every item, on up to `concurrency` threads.

    The first error stops the items not yet started and is raised once the
    running ones have finished.
    """
    if concurrency <= 1 or len(items) <= 1:
        for item in items:
            function(*item)
        return
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        futures = [pool.submit(function, *item) for item in items]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [future for future in futures if future in done and future.exception()]
        if failed:
            for future in futures:
                future.cancel()
            raise failed[0].exception()  # type: ignore[misc]


def write_local(path: str, fill: Callable[[str], None]) -> None:
    """Write the local file `path` atomically: `fill(temporary path)`, then move it into place."""
    folder, name = os.path.split(path)
    temp = os.path.join(folder, temp_name(name, os.urandom(6).hex()))
    try:
        fill(temp)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _local_kind(path: str) -> Kind | None:
    if os.path.isdir(path):
        return "directory"
    return "file" if os.path.exists(path) else None


class TransferMixin:
    """`upload` and `download` for `BaseStorage`, with hooks a backend overrides.

    `_put_files` and `_get_files` copy a batch of files; the default sends each
    through `_put_file` / `_get_file` on a pool of threads, and object stores
    replace the whole batch with concurrent requests.
    """

    def upload(
        self: BaseStorage,
        local_path: str | os.PathLike[str],
        path: str,
        *,
        overwrite: bool = False,
        concurrency: int | None = None,
    ) -> list[str]:
        """Copy the local file or folder `local_path` to `path`, each file atomically.

        A folder is copied with everything below it; with `overwrite=True`
        into an existing directory, files of the same name are replaced and
        other files there are kept.

        Args:
            local_path: a file or folder on this machine.
            path: the storage path it is copied to.
            overwrite: replace what is at `path`.
            concurrency: how many files are sent at once; None is
                `STORAGE_CONCURRENCY`.

        Returns:
            The storage paths written, sorted.

        Raises:
            StorageNotFoundError: nothing is at `local_path`.
            StorageExistsError: `path` exists and `overwrite` is False.
            StorageIsADirectoryError, StorageNotADirectoryError: a file would
                replace a directory, or the other way round.
        """
        source = os.path.abspath(os.fspath(local_path))
        target = normalize_path(path)
        if os.path.isdir(source):
            kind: Kind = "directory"
            empty, relative = local_tree(source)
        elif os.path.isfile(source):
            kind, target, empty, relative = "file", self._file_key(path), [], [(source, "")]
        else:
            raise StorageNotFoundError(
                f"cannot upload {source!r}: there is no such file or folder on this machine"
            )
        target_kind = self._kind(target)
        check_destination("upload", source, kind, target, target_kind, overwrite)
        pairs = [(local, join_key(target, key)) for local, key in relative]
        keys = [key for _, key in pairs]
        if target_kind == "directory":
            check_conflicts(self.find(target), keys)
        with self._guard(target, "upload to"):
            # Makes the folders, or on object stores checks that no file is in their way.
            folder = target if kind == "directory" else target.rpartition("/")[0]
            if folder:
                self._makedir(folder)
            for name in empty:
                self._makedir(join_key(target, name))
            self._put_files(pairs, concurrency or setting("STORAGE_CONCURRENCY"))
        return sorted(keys)

    def download(
        self: BaseStorage,
        path: str,
        local_path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        concurrency: int | None = None,
    ) -> list[str]:
        """Copy the file or directory `path` to `local_path` on this machine, each file atomically.

        Args:
            path: the storage path to copy.
            local_path: the local file or folder it is copied to; missing
                parent folders are created.
            overwrite: replace what is at `local_path`; other files in an
                existing folder are kept.
            concurrency: how many files are fetched at once; None is
                `STORAGE_CONCURRENCY`.

        Returns:
            The local paths written, sorted.

        Raises:
            StorageNotFoundError: `path` does not exist.
            StorageExistsError: `local_path` exists and `overwrite` is False.
            StorageIsADirectoryError, StorageNotADirectoryError: a file would
                replace a folder, or the other way round.
        """
        source = normalize_path(path)
        target = os.path.abspath(os.fspath(local_path))
        kind = self._kind(source)
        if kind is None:
            raise StorageNotFoundError(
                f"cannot download {source!r}: it does not exist in {self.root}"
            )
        check_destination("download", source, kind, target, _local_kind(target), overwrite)
        if kind == "file":
            folders, pairs = [os.path.dirname(target)], [(source, target)]
        else:
            empty, files = self._tree(source)
            pairs = [(join_key(source, key), os.path.join(target, *key.split("/"))) for key in files]
            folders = [os.path.join(target, *key.split("/")) for key in empty]
            folders += sorted({os.path.dirname(local) for _, local in pairs} | {target})
        for _, local in pairs:
            if os.path.isdir(local):
                raise StorageIsADirectoryError(f"cannot download to {local!r}: it is a folder")
        try:
            for folder in folders:
                os.makedirs(folder, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise StorageNotADirectoryError(
                f"cannot download {source!r} to {target!r}: a file is in the way of {exc.filename!r}"
            ) from exc
        with self._guard(source, "download"):
            self._get_files(pairs, concurrency or setting("STORAGE_CONCURRENCY"))
        return sorted(local for _, local in pairs)

    # --- hooks ------------------------------------------------------------------------

    def _tree(self: BaseStorage, key: str) -> tuple[list[str], list[str]]:
        """The empty directories and the files below directory `key`, relative to it."""
        empty: list[str] = []
        files: list[str] = []
        cut = len(key) + 1 if key else 0
        for folder, dirs, names in self.walk(key):
            files.extend(join_key(folder, name)[cut:] for name in names)
            if not dirs and not names and folder != key:
                empty.append(folder[cut:])
        return empty, sorted(files)

    def _put_files(self: BaseStorage, pairs: Sequence[Pair], concurrency: int) -> None:
        """Copy each `(local path, key)` into the storage, `concurrency` at a time."""
        run_concurrently(self._put_file, pairs, concurrency)

    def _get_files(self: BaseStorage, pairs: Sequence[Pair], concurrency: int) -> None:
        """Copy each `(key, local path)` to this machine, `concurrency` at a time."""
        run_concurrently(self._get_file, pairs, concurrency)

    def _put_file(self: BaseStorage, local: str, key: str) -> None:
        """Copy one local file to `key`, atomically."""
        with open(local, "rb") as source, self._open_write(key) as target:
            copy_stream(source, target, self.chunk_size)

    def _get_file(self: BaseStorage, key: str, local: str) -> None:
        """Copy the file `key` to the local path `local`, atomically."""

        def fill(temp: str) -> None:
            with self._open_read(key) as source, open(temp, "wb") as target:
                copy_stream(source, target, self.chunk_size)

        write_local(local, fill)

