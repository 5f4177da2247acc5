"""The data manager interface: read and write data frames by path, through storage."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from typing import IO, Any, ClassVar

from tether.conf import settings
from tether.exceptions import DataError, StorageError, TetherError
from tether.files.data.formats import Format, format_for, one_line
from tether.files.data.sql import run_query
from tether.files.storages import BaseStorage, default_storage, normalize_path, run_path

__all__ = ["BaseDataManager", "Reader", "Writer"]

Reader = Callable[..., Any]
"""`reader(source, **kwargs) -> frame`; `source` is a binary file object or a local path."""

Writer = Callable[..., None]
"""`writer(frame, target, **kwargs)`; `target` is a binary file object."""

# What libraries raise for data they cannot handle. Storage errors are
# TetherErrors and are let through as they are.
LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    NotImplementedError,
    OSError,
    ImportError,
    EOFError,
    pickle.UnpicklingError,
)


class BaseDataManager:
    """Reads and writes data frames of one library, by path, through a storage.

    Paths are relative to the current run folder (`meta.run_folder` of the run
    context), or to the storage root with `root=True`; a leading `/` is the top
    of whichever of the two applies. A path that climbs out of it with `..` is
    refused. The file's extension picks the format (see `formats`).

    Reads and writes go straight to the store through the storage's file
    objects, so they work on any backend, and writes are atomic: the file
    appears, or replaces the previous one, only once completely written. On
    local storage, formats listed in `path_formats` are read from the file's
    path, which lets the library memory-map it or read it on several threads.

    A subclass names its library's readers and writers by format name in
    `readers` and `writers`, checks frames in `_check_frame`, and reads query
    results in `_read_query`.

    Args:
        storage: the storage to use; None follows `default_storage`.
    """

    readers: ClassVar[Mapping[str, Reader]] = {}
    writers: ClassVar[Mapping[str, Writer]] = {}
    path_formats: ClassVar[frozenset[str]] = frozenset()
    errors: ClassVar[tuple[type[BaseException], ...]] = LIBRARY_ERRORS

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

    def _format(self, key: str, supported: Mapping[str, Any]) -> Format:
        """The format of the file `key` if this manager supports it and settings allow it.

        Raises:
            DataError: the extension is not supported, or it is pickle and
                ALLOW_PICKLE is false.
        """
        fmt = format_for(key, supported, type(self).__name__)
        if fmt.unsafe and not settings.ALLOW_PICKLE:
            raise DataError(
                f"cannot use {key!r}: pickle files are off because loading one runs arbitrary"
                " code; set ALLOW_PICKLE = True in your settings to use them for data you trust"
            )
        return fmt

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
        key = self.resolve(path, root)
        fmt = self._format(key, self.readers)
        reader = self.readers[fmt.name]
        with self.storage.open(key, "rb") as handle:
            source = self._source(fmt, key, handle)
            try:
                return reader(source, **kwargs)
            except StorageError:
                raise
            except self.errors as exc:
                raise DataError(f"cannot read {key!r} as {fmt.name}: {one_line(exc)}") from exc

    def write(self, path: str, df: Any, root: bool = False, **kwargs: Any) -> None:
        """Write the data frame `df` to `path`, atomically: on any error the file is left as it was.

        Args:
            path: the file, relative to the run folder (or the root with `root=True`).
            df: the data frame.
            root: whether `path` is relative to the storage root.
            **kwargs: passed to the library's writer.

        Raises:
            DataError: the format is not supported, `df` is not a data frame of
                this library, or it cannot be written in this format.
        """
        key = self.resolve(path, root)
        fmt = self._format(key, self.writers)
        self._check_frame(df, key)
        writer = self.writers[fmt.name]
        try:
            with self.storage.open(key, "wb") as handle:
                writer(df, handle, **kwargs)
        except StorageError:
            raise
        except self.errors as exc:
            raise DataError(f"cannot write {key!r} as {fmt.name}: {one_line(exc)}") from exc

    def read_sql(
        self,
        sql: Any,
        url: str | None = None,
        params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Read the result of the query `sql` from the database at `url`.

        Values go in as bound parameters, never into the query's text: write
        `:name` in the query and pass `params={"name": value}`.

        Args:
            sql: the query, as text or a SQLAlchemy selectable.
            url: a SQLAlchemy URL, e.g. `sqlite:///path/to/file.db`.
            params: values of the query's `:name` parameters.
            **kwargs: passed to the library's SQL reader.

        Raises:
            DataError: no URL, a bad URL, a failed connection or a failed query.
            ImproperlyConfigured: SQLAlchemy is not installed.
        """
        def run(query: Any, connection: Any) -> Any:
            return self._read_query(query, connection, dict(params or {}), **kwargs)

        return run_query(url, sql, run, self.errors)

    def _check_frame(self, df: Any, key: str) -> None:
        """Make sure `df` is a data frame this manager writes.

        Raises:
            DataError: it is not; the message says how to convert it.
        """

    def _source(self, fmt: Format, key: str, handle: IO[bytes]) -> str | IO[bytes]:
        """What the reader gets: a local path for `path_formats`, else `handle`."""
        if fmt.name in self.path_formats:
            local = self.storage.local_path(key)
            if local is not None:
                return local
        return handle

    def _read_query(
        self, query: Any, connection: Any, params: dict[str, Any], **kwargs: Any
    ) -> Any:
        """Run `query` with `params` on the SQLAlchemy `connection`; return a data frame."""
        raise DataError(
            f"{type(self).__name__} does not read from databases; use PandasDataManager or"
            " PolarsDataManager (DATA_BACKEND)"
        )

    def __repr__(self) -> str:
        try:
            storage = repr(self.storage)
        except TetherError:  # settings not configured yet
            storage = "default_storage"
        return f"{type(self).__name__}({storage})"
