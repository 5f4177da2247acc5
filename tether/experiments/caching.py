"""Cachers: how a stage output is saved to and loaded from a file.

A cacher works on its own with a path (`PickleCacher("model.pkl").save(model)`)
or, inside a stage, with the path the manager gives the output:
`[cache_path]/[prefix]_[hash]_[stage]_[name][extension]`. Every save writes
a file that gets its name only once complete (an unnamed file linked into
place, or a temporary file renamed), so a crash never leaves a half-written
artifact under its real name. `save` returns the files written.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tether.experiments.errors import CachingError
from tether.files.storages.unnamed import name_unnamed, open_unnamed, replacing

if TYPE_CHECKING:
    from tether.experiments.record import Record

__all__ = [
    "Cacheable",
    "PickleCacher",
    "JsonCacher",
    "PandasCacher",
    "PandasCsvCacher",
    "PandasJsonCacher",
    "ParquetCacher",
    "FileReferenceCacher",
    "PathRef",
    "atomic_path",
    "write_hashed",
    "ensure_folder",
]


_folders: set[str] = set()


def ensure_folder(folder: str) -> None:
    """Create `folder` (and its parents) once per process."""
    if folder not in _folders:
        os.makedirs(folder, exist_ok=True)
        _folders.add(folder)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path beside `path`, renamed to `path` if the block succeeds (removed if not).

    The temporary file is not created in advance: the block creates it. (Creating
    it first and reopening it for writing truncates it, and ext4 then flushes it
    to disk on close, which made each artifact cost a disk write.)
    """
    ensure_folder(os.path.dirname(path) or ".")
    with replacing(path) as temp:
        yield temp


class _HashingWriter:
    """A file descriptor's binary writer that hashes what is written (xxh3-128, as blobs are addressed)."""

    def __init__(self, fd: int) -> None:
        import xxhash

        self.fd = fd
        self.hasher = xxhash.xxh3_128()

    def write(self, data: Any) -> int:
        self.hasher.update(data)
        view = memoryview(data).cast("B")
        size = len(view)
        written = os.write(self.fd, view)
        while written < size:
            written += os.write(self.fd, view[written:])
        return size


def write_hashed(path: str, dump: Callable[[_HashingWriter], None]) -> tuple[int, int, str]:
    """Write `path` with `dump(writer)`, hashing as it writes; returns `(size, mtime_ns, hash)`.

    The file is written straight through its descriptor (the buffered file
    objects of `open` cost more than the write itself for a small artifact) and
    appears under its name only once complete: an unnamed file linked into
    place where the system allows (`tether.files.storages.unnamed`), else a temporary
    file renamed.
    """
    folder = os.path.dirname(path) or "."
    ensure_folder(folder)
    fd = open_unnamed(folder)
    if fd is not None:
        try:
            writer = _HashingWriter(fd)
            dump(writer)
            stat = os.fstat(fd) if name_unnamed(fd, path) else os.stat(path)
        finally:
            os.close(fd)
        return stat.st_size, stat.st_mtime_ns, writer.hasher.hexdigest()
    with replacing(path) as temp:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            writer = _HashingWriter(fd)
            dump(writer)
            stat = os.fstat(fd)
        finally:
            os.close(fd)
    return stat.st_size, stat.st_mtime_ns, writer.hasher.hexdigest()


class Cacheable:
    """The base of cachers: a path, and `save`/`load` of one object.

    Args:
        path_override: save to and load from this path instead of the manager's.
        name: the artifact's name (inside a stage: the output's name).
        subdir: a folder under the cache folder for the artifact.
        prefix: a cache prefix instead of the experiment's (shares artifacts across experiments).
        extension: the file extension (default: the class's).
        record: the record the artifact belongs to (set by the stage).
        track: whether the file is part of the run's artifacts (store-full, bundles).

    Attributes:
        stage: the stage that produced the artifact (set by the stage).
        cache_paths: the files the last `save` wrote.
        written: `(size, mtime_ns, hash)` of files the last `save` wrote, where it
            knew them as it wrote (so the cache index need not read them again).
    """

    extension = ""

    def __init__(
        self,
        path_override: str | os.PathLike[str] | None = None,
        name: str | None = None,
        subdir: str | None = None,
        prefix: str | None = None,
        extension: str | None = None,
        record: Record | None = None,
        track: bool = True,
    ) -> None:
        self.path_override = None if path_override is None else os.fspath(path_override)
        self.name = name
        self.subdir = subdir
        self.prefix = prefix
        if extension is not None:
            self.extension = extension
        self.record = record
        self.track = track
        self.stage: str | None = None
        self.cache_paths: list[str] = []
        self.written: dict[str, tuple[int, int, str]] = {}
        self.metadata: dict[str, Any] = {}

    def get_path(self, suffix: str | None = None) -> str:
        """The file this cacher saves to (with `suffix` after the name, for extra files).

        Raises:
            CachingError: there is neither a path nor a record with a manager to derive one.
        """
        if self.path_override is not None:
            return self.path_override if suffix is None else f"{self.path_override}{suffix}"
        if self.record is None or self.name is None:
            raise CachingError(
                f"{type(self).__name__} has no path: give one, e.g. {type(self).__name__}('out{self.extension}'),"
                " or use it in a stage's cachers"
            )
        filename = f"{self.name}{suffix or ''}{self.extension}"
        return self.record.manager.get_artifact_path(
            filename, self.record, subdir=self.subdir, prefix=self.prefix, stage_name=self.stage
        )

    def get_dir(self, suffix: str | None = None) -> str:
        """A folder for this artifact's files, created if missing."""
        path = self.get_path(suffix)
        folder = path[: -len(self.extension)] if self.extension and path.endswith(self.extension) else path
        os.makedirs(folder, exist_ok=True)
        return folder

    def check(self) -> bool:
        """Whether the artifact is on disk."""
        return os.path.exists(self.get_path())

    def save(self, obj: Any) -> list[str]:
        """Write `obj`; returns the files written."""
        raise NotImplementedError(f"{type(self).__name__} does not define save(obj)")

    def load(self) -> Any:
        """Read the object back."""
        raise NotImplementedError(f"{type(self).__name__} does not define load()")

    def _written(self, *paths: str, facts: dict[str, tuple[int, int, str]] | None = None) -> list[str]:
        self.cache_paths = list(paths)
        self.written = facts or {}
        return self.cache_paths

    def _load_json(self) -> Any:
        path = self.get_path()
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError) as exc:
            raise self._missing(path, exc) from exc

    def _missing(self, path: str, exc: BaseException) -> CachingError:
        return CachingError(f"{type(self).__name__} cannot read {path}: {exc}; remove it or run with --overwrite")

    def __repr__(self) -> str:
        where = self.path_override or self.name or "?"
        return f"{type(self).__name__}({where!r})"


class PickleCacher(Cacheable):
    """Any picklable object, with pickle's highest protocol."""

    extension = ".pkl"

    def save(self, obj: Any) -> list[str]:
        path = self.get_path()
        facts = write_hashed(path, lambda writer: pickle.dump(obj, writer, protocol=pickle.HIGHEST_PROTOCOL))
        return self._written(path, facts={path: facts})

    def load(self) -> Any:
        path = self.get_path()
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            raise self._missing(path, exc) from exc


class JsonCacher(Cacheable):
    """JSON values: dicts, lists, str, numbers, booleans, None."""

    extension = ".json"

    def save(self, obj: Any) -> list[str]:
        path = self.get_path()
        try:
            text = json.dumps(obj, indent=2)
        except (TypeError, ValueError) as exc:
            raise CachingError(f"JsonCacher cannot save a {type(obj).__name__}: {exc}; use PickleCacher") from exc
        data = text.encode("utf-8")
        return self._written(path, facts={path: write_hashed(path, lambda writer: writer.write(data))})

    def load(self) -> Any:
        return self._load_json()


_PANDAS_FORMATS = {
    "pickle": ".pkl_df",
    "csv": ".csv",
    "json": ".json",
    "parquet": ".parquet",
    "feather": ".feather",
}


class PandasCacher(Cacheable):
    """A DataFrame in one of pandas' formats.

    Args:
        format: `pickle` (default, exact), `csv`, `json`, `parquet` or `feather`.
        to_args: keyword arguments for `DataFrame.to_<format>`.
        read_args: keyword arguments for `pandas.read_<format>`.
    """

    format = "pickle"

    def __init__(
        self,
        path_override: str | os.PathLike[str] | None = None,
        format: str | None = None,
        to_args: dict[str, Any] | None = None,
        read_args: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        chosen = format or self.format
        if chosen not in _PANDAS_FORMATS:
            raise CachingError(f"PandasCacher format {chosen!r} is unknown; use one of {', '.join(_PANDAS_FORMATS)}")
        self.format = chosen
        kwargs.setdefault("extension", _PANDAS_FORMATS[chosen])
        super().__init__(path_override, **kwargs)
        self.to_args = dict(to_args or {})
        self.read_args = dict(read_args or {})

    def save(self, obj: Any) -> list[str]:
        path = self.get_path()
        with atomic_path(path) as temp:
            getattr(obj, f"to_{self.format}")(temp, **self.to_args)
        return self._written(path)

    def load(self) -> Any:
        import pandas as pd

        path = self.get_path()
        args = dict(self.read_args)
        if self.format == "csv":
            args.setdefault("index_col", 0)
        try:
            return getattr(pd, f"read_{self.format}")(path, **args)
        except (OSError, ValueError) as exc:
            raise self._missing(path, exc) from exc


class PandasCsvCacher(PandasCacher):
    """A DataFrame as CSV (index in the first column)."""

    format = "csv"


class PandasJsonCacher(PandasCacher):
    """A DataFrame as JSON."""

    format = "json"


class ParquetCacher(PandasCacher):
    """A DataFrame as Parquet (needs pyarrow)."""

    format = "parquet"


class FileReferenceCacher(Cacheable):
    """A path (or list of paths) to files a stage wrote elsewhere; saves the list as JSON.

    The referenced files are tracked with the artifact, so a full store copies them.
    """

    extension = ".json"

    def save(self, obj: Any) -> list[str]:
        paths = [os.fspath(p) for p in obj] if isinstance(obj, list | tuple) else [os.fspath(obj)]
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            raise CachingError(f"FileReferenceCacher: {', '.join(missing)} do(es) not exist; write the files first")
        path = self.get_path()
        with atomic_path(path) as temp, open(temp, "w", encoding="utf-8") as handle:
            json.dump(obj if isinstance(obj, str) else paths, handle)
        return self._written(path, *(p for p in paths if os.path.isfile(p)))

    def load(self) -> Any:
        return self._load_json()


class PathRef(Cacheable):
    """An output that is a file the stage writes itself at the cacher's path.

    The stage asks `record.get_path(name)` for the path, writes the file and
    returns the path; the artifact is the file, and loading gives its path.
    """

    def save(self, obj: Any) -> list[str]:
        path = self.get_path()
        if obj is not None and os.path.abspath(os.fspath(obj)) != os.path.abspath(path):
            raise CachingError(f"PathRef output is {obj}, but the stage was to write {path}; return record.get_path(...)")
        if not os.path.exists(path):
            raise CachingError(f"PathRef: the stage did not write {path}")
        return self._written(path)

    def load(self) -> Any:
        return self.get_path()
