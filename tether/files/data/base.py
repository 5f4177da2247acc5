"""The data manager interface: read and write data frames by path, through storage."""

from __future__ import annotations

import abc
from typing import Any

from tether.exceptions import DataError
from tether.files.storages import BaseStorage, default_storage, normalize_path, run_path

__all__ = ["BaseDataManager"]


class BaseDataManager(abc.ABC):
    """Reads and writes data frames of one library, by path, through a storage.

    Paths are relative to the current run folder (`meta.run_folder` of the run
    context), or to the storage root with `root=True`; a leading `/` is the top
    of whichever of the two applies. A path that climbs out of it with `..` is
    refused. Reads and writes stream through the storage, so they work on any
    backend, and writes are atomic.

    Args:
        storage: the storage to use; None follows `default_storage`.
    """

    def __init__(self, storage: BaseStorage | None = None) -> None:
        self._storage = storage

    @property
    def storage(self) -> BaseStorage:
        """The storage data goes through."""
        return self._storage if self._storage is not None else default_storage

    def resolve(self, path: str, root: bool = False) -> str:
        """The storage path of `path`.

        Args:
            path: a path relative to the run folder, or to the storage root.
            root: whether `path` is relative to the storage root.

        Raises:
            StoragePathError: `path` escapes the run folder (or the root).
        """
        if root:
            return normalize_path(path)
        return run_path(path)

    @abc.abstractmethod
    def read(self, path: str, root: bool = False, **kwargs: Any) -> Any:
        """Read the data frame at `path`.

        Args:
            path: the file, relative to the run folder (or the root with `root=True`).
            root: whether `path` is relative to the storage root.
            **kwargs: passed to the library's reader.

        Raises:
            StorageNotFoundError: there is no such file.
            DataError: the format is not supported or the file cannot be parsed.
        """

    @abc.abstractmethod
    def write(self, path: str, df: Any, root: bool = False, **kwargs: Any) -> None:
        """Write the data frame `df` to `path`, atomically.

        Args:
            path: the file, relative to the run folder (or the root with `root=True`).
            df: the data frame.
            root: whether `path` is relative to the storage root.
            **kwargs: passed to the library's writer.

        Raises:
            DataError: the format is not supported or `df` cannot be written in it.
        """

    def read_sql(self, sql: str, url: str | None = None, **kwargs: Any) -> Any:
        """Read the result of the query `sql` from the database at `url`.

        Raises:
            DataError: always for now; reading from databases is not supported yet.
        """
        raise DataError(
            f"{type(self).__name__}.read_sql is not supported yet; export the query's result"
            " to a file (e.g. parquet) and read that with read()"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.storage!r})"
