"""Read and write pandas DataFrames, in a format chosen by the file's extension."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import pandas as pd

from tether.exceptions import DataError, ImproperlyConfigured, StorageError
from tether.files.data.base import BaseDataManager
from tether.utils import install_hint

__all__ = ["PandasDataManager"]


def _read_csv(handle: IO[bytes], **kwargs: Any) -> pd.DataFrame:
    return pd.read_csv(handle, **kwargs)


def _write_csv(df: pd.DataFrame, handle: IO[bytes], **kwargs: Any) -> None:
    # Without the index by default, so that write() then read() gives the frame back.
    kwargs.setdefault("index", False)
    df.to_csv(handle, **kwargs)


def _read_parquet(handle: IO[bytes], **kwargs: Any) -> pd.DataFrame:
    kwargs.setdefault("engine", "pyarrow")
    return pd.read_parquet(handle, **kwargs)


def _write_parquet(df: pd.DataFrame, handle: IO[bytes], **kwargs: Any) -> None:
    kwargs.setdefault("engine", "pyarrow")
    df.to_parquet(handle, **kwargs)


def _read_json(handle: IO[bytes], **kwargs: Any) -> pd.DataFrame:
    return pd.read_json(handle, **kwargs)


def _write_json(df: pd.DataFrame, handle: IO[bytes], **kwargs: Any) -> None:
    df.to_json(handle, **kwargs)


def _read_feather(handle: IO[bytes], **kwargs: Any) -> pd.DataFrame:
    return pd.read_feather(handle, **kwargs)


def _write_feather(df: pd.DataFrame, handle: IO[bytes], **kwargs: Any) -> None:
    df.to_feather(handle, **kwargs)


@dataclass(frozen=True)
class _Format:
    name: str
    read: Callable[..., pd.DataFrame]
    write: Callable[..., None]


_CSV = _Format("csv", _read_csv, _write_csv)
_PARQUET = _Format("parquet", _read_parquet, _write_parquet)
_FORMATS: dict[str, _Format] = {
    ".csv": _CSV,
    ".txt": _CSV,
    ".parquet": _PARQUET,
    ".pq": _PARQUET,
    ".json": _Format("json", _read_json, _write_json),
    ".feather": _Format("feather", _read_feather, _write_feather),
}

# What a reader or writer raises for data it cannot handle; storage errors are
# let through as they are.
_FORMAT_ERRORS = (ValueError, TypeError, KeyError, OSError, ImportError)


class PandasDataManager(BaseDataManager):
    """Reads and writes pandas DataFrames.

    The extension picks the format: `.csv` and `.txt` (CSV, written without the
    index unless `index=True` is passed), `.parquet` and `.pq` (pyarrow; the
    index is kept), `.json` and `.feather`. Extra keyword arguments go to the
    pandas reader or writer (`pd.read_csv`, `DataFrame.to_parquet`, ...).
    """

    formats: dict[str, _Format] = _FORMATS

    def _format(self, key: str) -> _Format:
        extension = posixpath.splitext(key)[1].lower()
        try:
            return self.formats[extension]
        except KeyError:
            supported = ", ".join(sorted(self.formats))
            shown = extension or "no extension"
            raise DataError(
                f"cannot handle {key!r}: {type(self).__name__} does not support {shown};"
                f" use one of {supported}"
            ) from None

    def read(self, path: str, root: bool = False, **kwargs: Any) -> pd.DataFrame:
        """Read the DataFrame at `path`.

        Args:
            path: the file, relative to the run folder (or the root with `root=True`).
            root: whether `path` is relative to the storage root.
            **kwargs: passed to the pandas reader.

        Raises:
            StorageNotFoundError: there is no such file.
            DataError: the extension is not supported or the file cannot be parsed.
        """
        key = self.resolve(path, root)
        fmt = self._format(key)
        with self.storage.open(key, "rb") as handle:
            try:
                return fmt.read(handle, **kwargs)
            except StorageError:
                raise
            except _FORMAT_ERRORS as exc:
                raise DataError(f"cannot read {key!r} as {fmt.name}: {exc}") from exc

    def write(self, path: str, df: pd.DataFrame, root: bool = False, **kwargs: Any) -> None:
        """Write `df` to `path`, atomically: on any error the file is left as it was.

        Args:
            path: the file, relative to the run folder (or the root with `root=True`).
            df: the DataFrame.
            root: whether `path` is relative to the storage root.
            **kwargs: passed to the pandas writer.

        Raises:
            DataError: the extension is not supported, `df` is not a DataFrame, or
                it cannot be written in this format.
        """
        key = self.resolve(path, root)
        fmt = self._format(key)
        if not isinstance(df, pd.DataFrame):
            raise DataError(
                f"cannot write {type(df).__name__} to {key!r}: give a pandas DataFrame"
                " (a Series converts with .to_frame())"
            )
        try:
            with self.storage.open(key, "wb") as handle:
                fmt.write(df, handle, **kwargs)
        except StorageError:
            raise
        except _FORMAT_ERRORS as exc:
            raise DataError(f"cannot write {key!r} as {fmt.name}: {exc}") from exc

    def read_sql(self, sql: str, url: str | None = None, **kwargs: Any) -> pd.DataFrame:
        """Read the result of the query `sql` from the database at `url`.

        Args:
            sql: the query.
            url: a database URL; `sqlite:///path` needs nothing more, other URLs
                need SQLAlchemy.
            **kwargs: passed to `pd.read_sql_query`.

        Raises:
            DataError: no URL was given, or the query failed.
            ImproperlyConfigured: the URL needs SQLAlchemy, which is not installed.
        """
        if not url:
            raise DataError(
                "read_sql needs the database URL; pass url='sqlite:///path.db' or similar"
            )
        if url.startswith("sqlite:///"):
            import sqlite3

            connection: Any = sqlite3.connect(url[len("sqlite:///") :])
        else:
            try:
                import sqlalchemy
            except ImportError as exc:
                raise ImproperlyConfigured(
                    f"read_sql from {url.split('://')[0]}:// needs SQLAlchemy; run"
                    f" {install_hint('sqlalchemy')}"
                ) from exc
            connection = sqlalchemy.create_engine(url).connect()
        try:
            return pd.read_sql_query(sql, connection, **kwargs)
        except Exception as exc:
            raise DataError(f"read_sql failed: {type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()
