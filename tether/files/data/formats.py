"""The file formats data managers know, chosen by a file's extension.

What each format keeps when a data frame goes through it:

- `parquet` (`.parquet`, `.pq`) and `feather` (`.feather`, `.arrow`, Arrow IPC):
  everything: column names and order, dtypes (categoricals, time zones, nulls),
  and for pandas the index (a RangeIndex as metadata, any other index as columns
  restored on read).
- `csv` (`.csv`, `.txt`) and `tsv` (`.tsv`): values as text. Integers, floats,
  booleans and strings come back; dates and times come back as strings unless
  the reader is asked to parse them, categoricals as their values, and an
  integer column with nulls as floats (pandas). The index is not written unless
  asked (`index=True`).
- `json` (`.json`): pandas writes its default orient, `columns`, which keeps the
  index as object keys; polars writes an array of records, which pandas reads
  too. Datetimes become ISO strings: pandas parses them back only in columns
  whose names look like dates (`date`, `*_at`, `*_time`, ...), polars not at
  all unless given a schema. Categoricals come back as their values.
- `jsonl` (`.jsonl`, `.ndjson`): one record per line, as `json` otherwise; the
  index is not written.
- `pickle` (`.pkl`, `.pickle`): the object itself, exactly; only when the
  setting ALLOW_PICKLE is true, because unpickling runs arbitrary code.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection
from dataclasses import dataclass

from tether.exceptions import DataError

__all__ = ["Format", "FORMATS", "format_for", "one_line"]


@dataclass(frozen=True)
class Format:
    """A file format and the extensions that select it.

    Attributes:
        name: the format's name, the key of a data manager's readers and writers.
        extensions: the lower-case extensions, with their dot, that select it.
        unsafe: whether reading it can run code (pickle), so that ALLOW_PICKLE
            must allow it.
    """

    name: str
    extensions: tuple[str, ...]
    unsafe: bool = False


FORMATS: tuple[Format, ...] = (
    Format("csv", (".csv", ".txt")),
    Format("tsv", (".tsv",)),
    Format("parquet", (".parquet", ".pq")),
    Format("json", (".json",)),
    Format("jsonl", (".jsonl", ".ndjson")),
    Format("feather", (".feather", ".arrow")),
    Format("pickle", (".pkl", ".pickle"), unsafe=True),
)

_BY_EXTENSION: dict[str, Format] = {ext: fmt for fmt in FORMATS for ext in fmt.extensions}

_MAX_MESSAGE = 300


def format_for(key: str, supported: Collection[str], owner: str) -> Format:
    """The format of the file `key`, by its extension (case-insensitive).

    Args:
        key: the file's storage path.
        supported: names of the formats the caller can handle.
        owner: who is asking, named in the error (e.g. `PandasDataManager`).

    Raises:
        DataError: the extension selects no format in `supported`; the message
            lists the extensions that do.
    """
    extension = posixpath.splitext(key)[1].lower()
    fmt = _BY_EXTENSION.get(extension)
    if fmt is not None and fmt.name in supported:
        return fmt
    extensions = sorted(ext for f in FORMATS if f.name in supported for ext in f.extensions)
    shown = extension or "no extension"
    raise DataError(
        f"cannot handle {key!r}: {owner} does not support {shown}; name the file with one"
        f" of {', '.join(extensions)}"
    )


def one_line(exc: BaseException) -> str:
    """The first line of `exc`'s message (or its class name), shortened for an error line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    return text
