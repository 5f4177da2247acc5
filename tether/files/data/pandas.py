"""Read and write pandas DataFrames, in a format chosen by the file's extension."""

from __future__ import annotations

from typing import IO, Any, ClassVar

import pandas as pd
import pyarrow as pa

from tether.exceptions import DataError
from tether.files.data.base import LIBRARY_ERRORS, BaseDataManager, Reader, Writer

__all__ = ["PandasDataManager"]

Source = str | IO[bytes]


def _read_csv(source: Source, **kwargs: Any) -> pd.DataFrame:
    return pd.read_csv(source, **kwargs)


def _write_csv(df: pd.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    # Without the index by default, so that write() then read() gives the frame back.
    kwargs.setdefault("index", False)
    df.to_csv(target, **kwargs)


def _read_tsv(source: Source, **kwargs: Any) -> pd.DataFrame:
    kwargs.setdefault("sep", "\t")
    return pd.read_csv(source, **kwargs)


def _write_tsv(df: pd.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    kwargs.setdefault("sep", "\t")
    _write_csv(df, target, **kwargs)


def _read_parquet(source: Source, **kwargs: Any) -> pd.DataFrame:
    kwargs.setdefault("engine", "pyarrow")
    return pd.read_parquet(source, **kwargs)


def _write_parquet(df: pd.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    kwargs.setdefault("engine", "pyarrow")
    df.to_parquet(target, **kwargs)


def _read_json(source: Source, **kwargs: Any) -> pd.DataFrame:
    return pd.read_json(source, **kwargs)


def _write_json(df: pd.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    # ISO dates read better than epoch numbers and become pandas' default in 4.0.
    kwargs.setdefault("date_format", "iso")
    df.to_json(target, **kwargs)


def _read_jsonl(source: Source, **kwargs: Any) -> pd.DataFrame:
    kwargs.setdefault("lines", True)
    return pd.read_json(source, **kwargs)


def _write_jsonl(df: pd.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    kwargs.setdefault("orient", "records")
    kwargs.setdefault("lines", True)
    _write_json(df, target, **kwargs)


def _read_feather(source: Source, **kwargs: Any) -> pd.DataFrame:
    return pd.read_feather(source, **kwargs)


def _write_feather(df: pd.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    df.to_feather(target, **kwargs)


def _read_pickle(source: Source, **kwargs: Any) -> Any:
    return pd.read_pickle(source, **kwargs)


def _write_pickle(df: pd.DataFrame, target: IO[bytes], **kwargs: Any) -> None:
    df.to_pickle(target, **kwargs)


class PandasDataManager(BaseDataManager):
    """Reads and writes pandas DataFrames.

    The extension picks the format (see `tether.files.data.formats` for what
    each keeps): `.csv`, `.txt` and `.tsv` (written without the index unless
    `index=True` is passed), `.parquet` and `.pq` (pyarrow; the index and
    dtypes are kept), `.json` (pandas' default orient, `columns`), `.jsonl` and
    `.ndjson` (records, one per line), `.feather` and `.arrow` (the index and
    dtypes are kept), and `.pkl` and `.pickle` when ALLOW_PICKLE is true.
    Extra keyword arguments go to the pandas reader or writer (`pd.read_csv`,
    `DataFrame.to_parquet`, ...); `read_sql` uses `pd.read_sql_query`.
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
    # pyarrow reads a local path with its own I/O threads, bypassing the GIL.
    path_formats: ClassVar[frozenset[str]] = frozenset({"parquet", "feather"})
    errors: ClassVar[tuple[type[BaseException], ...]] = (*LIBRARY_ERRORS, pa.ArrowException)


    def _check_frame(self, df: Any, key: str) -> None:
        """Make sure `df` is a pandas DataFrame.

        Raises:
            DataError: it is not; the message says how to convert it.
        """
        if isinstance(df, pd.DataFrame):
            return
        if isinstance(df, pd.Series):
            hint = "a Series converts with .to_frame()"
        elif type(df).__module__.split(".")[0] == "polars":
            hint = (
                "a polars DataFrame converts with .to_pandas(), or set DATA_BACKEND to"
                " PolarsDataManager"
            )
        else:
            hint = "build one with pd.DataFrame(...)"
        raise DataError(
            f"cannot write {type(df).__name__} to {key!r}: give a pandas DataFrame ({hint})"
        )

    def _read_query(
        self, query: Any, connection: Any, params: dict[str, Any], **kwargs: Any
    ) -> pd.DataFrame:
        return pd.read_sql_query(query, connection, params=params or None, **kwargs)
