"""Read and write polars DataFrames, in a format chosen by the file's extension."""

from __future__ import annotations

import os
import pickle
from typing import IO, Any, ClassVar

from tether.exceptions import DataError, ImproperlyConfigured
from tether.files.data.base import LIBRARY_ERRORS, BaseDataManager, Reader, Writer
from tether.files.data.formats import Format
from tether.utils import install_hint

try:
    import polars as pl
except ImportError as exc:
    raise ImproperlyConfigured(
        f"PolarsDataManager needs polars, which is not installed; run {install_hint('polars')}"
    ) from exc

__all__ = ["PolarsDataManager"]

Source = str | IO[bytes]

# polars expands these in a path as a glob pattern; such names are read as streams.
_GLOB_CHARACTERS = frozenset("*?[")


def _read_csv(source: Source, **kwargs: Any) -> pl.DataFrame:
    return pl.read_csv(source, **kwargs)


def _write_csv(df: pl.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    df.write_csv(target, **kwargs)


def _read_tsv(source: Source, **kwargs: Any) -> pl.DataFrame:
    kwargs.setdefault("separator", "\t")
    return pl.read_csv(source, **kwargs)


def _write_tsv(df: pl.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    kwargs.setdefault("separator", "\t")
    df.write_csv(target, **kwargs)


def _read_parquet(source: Source, **kwargs: Any) -> pl.DataFrame:
    return pl.read_parquet(source, **kwargs)


def _write_parquet(df: pl.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    df.write_parquet(target, **kwargs)


def _read_json(source: Source, **kwargs: Any) -> pl.DataFrame:
    return pl.read_json(source, **kwargs)


def _write_json(df: pl.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    df.write_json(target, **kwargs)


def _is_empty(source: Source) -> bool:
    if isinstance(source, str):
        return os.path.getsize(source) == 0
    if not source.seekable():
        return False
    empty = not source.read(1)
    source.seek(0)
    return empty


def _read_jsonl(source: Source, **kwargs: Any) -> pl.DataFrame:
    # An empty frame is written as an empty file, which polars refuses to read.
    if _is_empty(source):
        return pl.DataFrame(schema=kwargs.get("schema"))
    return pl.read_ndjson(source, **kwargs)


def _write_jsonl(df: pl.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    df.write_ndjson(target, **kwargs)


def _read_feather(source: Source, **kwargs: Any) -> pl.DataFrame:
    return pl.read_ipc(source, **kwargs)


def _write_feather(df: pl.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    df.write_ipc(target, **kwargs)


def _read_pickle(source: IO[bytes], **kwargs: Any) -> Any:
    return pickle.load(source, **kwargs)


def _write_pickle(df: pl.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    pickle.dump(df, target, **kwargs)


class PolarsDataManager(BaseDataManager):
    """Reads and writes polars DataFrames.

    The extension picks the format (see `tether.files.data.formats` for what
    each keeps): `.csv`, `.txt` and `.tsv`, `.parquet` and `.pq`, `.json` (an
    array of records), `.jsonl` and `.ndjson`, `.feather` and `.arrow` (Arrow
    IPC), and `.pkl` and `.pickle` when ALLOW_PICKLE is true. Extra keyword
    arguments go to the polars reader or writer (`pl.read_csv`,
    `DataFrame.write_parquet`, ...; `pickle.load` and `pickle.dump` for
    pickles); `read_sql` uses `pl.read_database`. On local storage polars reads
    the file from its path, with its own threads.
    """

    readers: ClassVar[dict[str, Reader]] = {
        "csv": _read_csv,
        "tsv": _read_tsv,
        "parquet": _read_parquet,
        "json": _read_json,
        "jsonl": _read_jsonl,
        "feather": _read_feather,
        "pickle": _read_pickle,
    }
    writers: ClassVar[dict[str, Writer]] = {
        "csv": _write_csv,
        "tsv": _write_tsv,
        "parquet": _write_parquet,
        "json": _write_json,
        "jsonl": _write_jsonl,
        "feather": _write_feather,
        "pickle": _write_pickle,
    }
    path_formats: ClassVar[frozenset[str]] = frozenset(
        {"csv", "tsv", "parquet", "json", "jsonl", "feather"}
    )
    errors: ClassVar[tuple[type[BaseException], ...]] = (
        *LIBRARY_ERRORS,
        pl.exceptions.PolarsError,
    )


    def _check_frame(self, df: Any, key: str) -> None:
        """Make sure `df` is a polars DataFrame.

        Raises:
            DataError: it is not; the message says how to convert it.
        """
        if isinstance(df, pl.DataFrame):
            return
        if isinstance(df, pl.LazyFrame):
            hint = "a LazyFrame becomes one with .collect()"
        elif isinstance(df, pl.Series):
            hint = "a Series converts with .to_frame()"
        elif type(df).__module__.split(".")[0] == "pandas":
            hint = "a pandas DataFrame converts with pl.from_pandas(df)"
        else:
            hint = "build one with pl.DataFrame(...)"
        raise DataError(
            f"cannot write {type(df).__name__} to {key!r}: give a polars DataFrame ({hint})"
        )

    def _source(self, fmt: Format, key: str, handle: IO[bytes]) -> str | IO[bytes]:
        source = super()._source(fmt, key, handle)
        if isinstance(source, str) and _GLOB_CHARACTERS.intersection(source):
            return handle
        return source

    def _read_query(
        self, query: Any, connection: Any, params: dict[str, Any], **kwargs: Any
    ) -> pl.DataFrame:
        if params:
            options = dict(kwargs.pop("execute_options", None) or {})
            options["parameters"] = params
            kwargs["execute_options"] = options
        return pl.read_database(query, connection, **kwargs)
