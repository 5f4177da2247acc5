"""DataFrames, Series and numpy arrays as bytes that read back exactly: parquet and npy.

Parquet (through pyarrow) keeps dtypes, the index and its names, categories,
time zones and `attrs`. What it does not keep is recorded beside the bytes
and put back on reading: a RangeIndex of column labels, the `freq` of a
datetime or timedelta index, and columns or index levels of `object` dtype,
which pandas would read back as strings or floats. An object column is stored
only if its values come back from parquet as the same Python values of the
same types; otherwise the frame cannot be stored exactly as parquet and the
caller falls back to pickle (if allowed) or refuses it.

Imported only when a bundle holds pandas or numpy data.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "FrameError",
    "decode_array",
    "decode_frame",
    "decode_series",
    "encode_array",
    "encode_frame",
    "encode_series",
]

_SERIES_COLUMN = "__series__"
# Frames smaller than this are written without compression, dictionaries or
# statistics: for a few kilobytes those cost more time than they save space.
_SMALL = 1 << 20
_SMALL_OPTIONS = {"compression": "none", "use_dictionary": False, "write_statistics": False}
# The dtype of column labels read back from parquet without pandas metadata.
_LABELS_DTYPE = pd.Index(["label"]).dtype
_SENTINEL = "__tether_range__"
_MAX_SCHEMAS = 256
_schemas: dict[tuple[Any, ...], tuple[pa.Schema, str] | None] = {}
# Iterating an Index of str is slow in pandas 3; frames often share one, so its
# labels are remembered by identity (the Index itself is kept, so the id stays its own).
_labels: dict[int, tuple[pd.Index, tuple[Any, ...]]] = {}


class FrameError(ValueError):
    """The value cannot be written exactly in this format; the message says why."""


def _same(left: Any, right: Any) -> bool:
    if type(left) is not type(right):
        return False
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)
    try:
        return bool(left == right)
    except (TypeError, ValueError):
        return False


def _object_values(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    for position, value in enumerate(values):
        array[position] = value
    return array


def _check_objects(original: Any, column: pa.ChunkedArray, label: str) -> None:
    if not all(_same(a, b) for a, b in zip(list(original), column.to_pylist())):
        raise FrameError(
            f"{label} has dtype object with values parquet does not keep exactly (mixed"
            " types, None beside numbers, tuples, ...); give it a dtype such as 'float64',"
            " 'Int64' or 'str'"
        )


def _index_levels(index: pd.Index) -> list[pd.Index]:
    if isinstance(index, pd.MultiIndex):
        return [index.get_level_values(level) for level in range(index.nlevels)]
    return [index]


def _write(table: pa.Table, small: bool, store_schema: bool = True) -> bytes:
    """Parquet bytes of `table`; `store_schema=False` leaves out the Arrow schema and pandas metadata.

    A plain numeric frame with a default index and unnamed str labels comes back
    exactly from parquet's own types and names, and without that metadata a small
    file is 40% smaller and quicker to write.
    """
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, store_schema=store_schema, **(_SMALL_OPTIONS if small else {}))
    return sink.getvalue().to_pybytes()


def _template(frame: pd.DataFrame, key: tuple[Any, ...]) -> tuple[pa.Schema, str] | None:
    """The schema of frames like `frame` with its pandas metadata, the range left to fill in."""
    if key in _schemas:
        return _schemas[key]
    empty = frame.iloc[:0].copy()
    empty.index = pd.RangeIndex(0, 0, 1, name=frame.index.name)
    schema = pa.Schema.from_pandas(empty, preserve_index=None)
    text = schema.metadata[b"pandas"].decode("utf-8")
    marker = '"start": 0, "stop": 0, "step": 1'
    found: tuple[pa.Schema, str] | None = None
    if text.count(marker) == 1 and _SENTINEL not in text:
        found = (schema.remove_metadata(), text.replace(marker, _SENTINEL))
    if len(_schemas) >= _MAX_SCHEMAS:
        _schemas.clear()
    _schemas[key] = found
    return found


def _fast_table(frame: pd.DataFrame, metadata: bool = True) -> pa.Table | None:
    """The table of a plain numeric frame (RangeIndex, unique str labels, one numpy dtype), or None.

    Builds exactly what `pa.Table.from_pandas` builds, from a cached schema,
    without its per-column inspection; without its pandas metadata if not `metadata`.
    """
    index, columns = frame.index, frame.columns
    if type(frame) is not pd.DataFrame or type(index) is not pd.RangeIndex or type(columns) is not pd.Index or frame.attrs:
        return None
    # Index.is_unique and inferred_type build a hash table for every new Index
    # (a few hundred microseconds for Arrow-backed labels); the labels are few.
    known = _labels.get(id(columns))
    if known is None or known[0] is not columns:
        if len(_labels) >= _MAX_SCHEMAS:
            _labels.clear()
        known = _labels[id(columns)] = (columns, tuple(columns))
    labels = known[1]
    if not labels or len(set(labels)) != len(labels) or not all(type(label) is str for label in labels):
        return None
    try:
        # DataFrame.dtypes builds a Series (tens of microseconds); the block
        # manager's blocks hold the same dtypes. Any other pandas takes the general path.
        kinds = {block.dtype for block in frame._mgr.blocks}
    except AttributeError:
        return None
    if len(kinds) != 1:
        return None
    first = kinds.pop()
    if not isinstance(first, np.dtype) or first.kind not in "biuf":
        return None
    try:
        key = (labels, first, index.name, columns.dtype, columns.name)
        template = _template(frame, key)
    except TypeError:
        return None
    if template is None:
        return None
    schema, text = template
    values = frame.to_numpy()
    if metadata:
        span = f'"start": {index.start}, "stop": {index.stop}, "step": {index.step}'
        schema = schema.with_metadata({b"pandas": text.replace(_SENTINEL, span).encode("utf-8")})
    return pa.Table.from_arrays([pa.array(values[:, i]) for i in range(values.shape[1])], schema=schema)


def _labels_fix(columns: pd.Index) -> dict[str, Any]:
    """What restores column labels of dtype object, which pyarrow reads back as str."""
    if type(columns) is pd.Index and columns.dtype == object and columns.nlevels == 1:
        return {"columns_object": True}
    return {}


def encode_frame(frame: pd.DataFrame) -> tuple[bytes, dict[str, Any]]:
    """Parquet bytes of `frame` and what reading them needs to restore it exactly.

    Raises:
        FrameError: `frame` cannot be written exactly as parquet.
    """
    small = len(frame.index) * len(frame.columns) * 8 < _SMALL
    index, columns = frame.index, frame.columns
    # Without the Arrow schema no pandas metadata is written: only what parquet
    # alone restores may be left to it (a default index, unnamed str labels).
    plain = (
        type(index) is pd.RangeIndex and index.start == 0 and index.step == 1 and index.name is None
        and columns.name is None and columns.dtype == _LABELS_DTYPE
    )
    fast = _fast_table(frame, metadata=not plain)
    if fast is not None:
        return _write(fast, small, store_schema=not plain), _labels_fix(columns)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=None)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise FrameError(f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    columns = frame.columns
    fix: dict[str, Any] = _labels_fix(columns)
    if isinstance(columns, pd.RangeIndex):
        fix["columns_range"] = [columns.start, columns.stop, columns.step]
    dtypes = list(frame.dtypes)
    categories = {
        str(i): _categories(dtype, f"column {columns[i]!r}")
        for i, dtype in enumerate(dtypes)
        if isinstance(dtype, pd.CategoricalDtype)
    }
    if categories:
        fix["categories"] = categories
    objects = [i for i, dtype in enumerate(dtypes) if dtype == object]
    for position in objects:
        _check_objects(frame.iloc[:, position], table.column(position), f"column {columns[position]!r}")
    if objects:
        fix["object_columns"] = objects
    index = frame.index
    if not isinstance(index, pd.RangeIndex):
        if any(isinstance(level.dtype, pd.CategoricalDtype) for level in _index_levels(index)):
            raise FrameError("a categorical index does not keep its categories in parquet")
        levels = [i for i, level in enumerate(_index_levels(index)) if level.dtype == object]
        first = len(columns)
        for level in levels:
            values = _index_levels(index)[level]
            _check_objects(values, table.column(first + level), f"index level {level}")
        if levels:
            fix["object_index_levels"] = levels
    if isinstance(index, pd.DatetimeIndex | pd.TimedeltaIndex) and index.freq is not None:
        fix["index_freq"] = index.freq.freqstr
    return _write(table, small and not categories), fix


def _categories(dtype: pd.CategoricalDtype, label: str) -> dict[str, Any]:
    """What restores a categorical column: its categories, their dtype, and whether ordered."""
    values = dtype.categories
    plain = values.tolist()
    if not all(type(value) in (str, int, float, bool) for value in plain):
        raise FrameError(f"{label} is categorical with categories parquet does not keep (only text and numbers)")
    return {"values": plain, "dtype": str(values.dtype), "ordered": bool(dtype.ordered)}


def decode_frame(data: bytes, fix: dict[str, Any]) -> pd.DataFrame:
    """The DataFrame that `encode_frame` wrote as `data` with `fix`."""
    table = pq.read_table(pa.BufferReader(data))
    frame = table.to_pandas()
    for position in fix.get("object_columns", ()):
        values = _object_values(table.column(position).to_pylist())
        frame.isetitem(position, pd.Series(values, dtype=object, index=frame.index))
    for position, spec in (fix.get("categories") or {}).items():
        dtype = pd.CategoricalDtype(pd.Index(spec["values"], dtype=spec["dtype"]), ordered=spec["ordered"])
        frame.isetitem(int(position), frame.iloc[:, int(position)].astype(dtype))
    levels = fix.get("object_index_levels")
    if levels:
        first = frame.shape[1]
        arrays = _index_levels(frame.index)
        for level in levels:
            arrays[level] = pd.Index(_object_values(table.column(first + level).to_pylist()), dtype=object)
        names = list(frame.index.names)
        if isinstance(frame.index, pd.MultiIndex):
            frame.index = pd.MultiIndex.from_arrays(arrays, names=names)
        else:
            frame.index = pd.Index(arrays[0], dtype=object, name=names[0])
    if "columns_range" in fix:
        frame.columns = pd.RangeIndex(*fix["columns_range"])
    if fix.get("columns_object"):
        frame.columns = frame.columns.astype(object)
    if "index_freq" in fix:
        frame.index = type(frame.index)(frame.index, freq=fix["index_freq"])
    return frame


def encode_series(series: pd.Series) -> tuple[bytes, dict[str, Any]]:
    """Parquet bytes of `series` (its name is kept by the caller).

    Raises:
        FrameError: `series` cannot be written exactly as parquet.
    """
    return encode_frame(series.to_frame(name=_SERIES_COLUMN))


def decode_series(data: bytes, fix: dict[str, Any], name: Any) -> pd.Series:
    """The Series that `encode_series` wrote, named `name`."""
    series = decode_frame(data, fix).iloc[:, 0]
    series.name = name
    return series


def encode_array(array: np.ndarray | np.generic) -> bytes:
    """npy bytes of an array or numpy scalar (a scalar is a 0-d array).

    Raises:
        FrameError: the array holds Python objects, which npy keeps only with pickle.
    """
    if array.dtype.hasobject:
        raise FrameError("the array has dtype object, which npy keeps only with pickle")
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def decode_array(data: bytes, scalar: bool = False) -> Any:
    """The array (or, with `scalar`, the numpy scalar) that `encode_array` wrote."""
    array = np.load(io.BytesIO(data), allow_pickle=False)
    return array[()] if scalar else array
