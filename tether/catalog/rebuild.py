"""Re-creating the index of runs from the run folders in storage.

The new index is built in a scratch file next to the catalog, reading storage
at leisure, and holds no lock on the catalog meanwhile. It then goes live in
one step:

- normally, in one write transaction on the catalog: the DAG runs are deleted
  and the scratch file's copied in. Other processes keep their connections and
  see the old index or the new one, never a mix; a crash rolls it all back.
  Tables the rebuild does not cover (bundles, contexts, experiment runs) are
  left as they are.
- when the catalog file is damaged (not a database, corrupt), the scratch file
  replaces it with `os.replace`, after its stale journal files are removed.

A crash while the scratch file is being built leaves only that file, which the
next rebuild deletes.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tether.catalog.connection import Database
from tether.catalog.errors import CatalogDamagedError, CatalogError
from tether.catalog.records import RebuildReport, RunEntry, metrics_from_manifest
from tether.catalog.sqlite import BATCH_SIZE, write_runs
from tether.exceptions import StorageError

if TYPE_CHECKING:
    from tether.catalog.sqlite import SQLiteCatalog
    from tether.files.storages import BaseStorage

__all__ = ["rebuild", "iter_run_folders", "RUNS_DIR", "RUN_FILE", "METRICS_FILE"]

RUNS_DIR = "runs"
RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"

# The tables a rebuild re-creates, with the order that keeps rows as recorded
# (tasks in the order they started).
_RUN_TABLES: tuple[tuple[str, str | None], ...] = (
    ("runs", "rowid"),
    ("task_runs", "rowid"),
    ("metrics", "id"),
    ("params", None),
)
_SCRATCH_SUFFIX = ".rebuild-"


def iter_run_folders(storage: BaseStorage) -> Iterator[str]:
    """The run folders under `runs/` in `storage` (`runs/YYYY/MM/DD/<run_id>`), oldest day first."""

    def dirs(path: str) -> list[str]:
        return storage.ls(path)[1] if storage.isdir(path) else []

    for year in dirs(RUNS_DIR):
        for month in dirs(f"{RUNS_DIR}/{year}"):
            for day in dirs(f"{RUNS_DIR}/{year}/{month}"):
                for run_id in dirs(f"{RUNS_DIR}/{year}/{month}/{day}"):
                    yield f"{RUNS_DIR}/{year}/{month}/{day}/{run_id}"


def _read_folder(
    storage: BaseStorage, folder: str
) -> tuple[RunEntry, list[Any], dict[str, Any]] | None:
    """The run recorded in `folder` with its metrics and params; None if it has no run.json."""
    if not storage.isfile(f"{folder}/{RUN_FILE}"):
        return None
    data = json.loads(storage.read(f"{folder}/{RUN_FILE}"))
    if not isinstance(data, dict):
        raise ValueError(f"{RUN_FILE} holds a {type(data).__name__}, not an object")
    entry = RunEntry.from_dict(data, kind="dag", storage_root=storage.root)
    entry.run_folder = folder
    metrics: list[Any] = []
    params: dict[str, Any] = {}
    if storage.isfile(f"{folder}/{METRICS_FILE}"):
        manifest = json.loads(storage.read(f"{folder}/{METRICS_FILE}"))
        if isinstance(manifest, dict):
            metrics, params = metrics_from_manifest(manifest)
    return entry, metrics, params


def _index(scratch: Database, storage: BaseStorage) -> RebuildReport:
    report = RebuildReport()
    batch: list[RunEntry] = []
    metrics: dict[str, list[Any]] = {}
    params: dict[str, dict[str, Any]] = {}

    def flush() -> None:
        runs, tasks, values = scratch.write(lambda c: write_runs(c, batch, metrics, params))
        report.runs += runs
        report.tasks += tasks
        report.metrics += values
        batch.clear()
        metrics.clear()
        params.clear()

    for folder in iter_run_folders(storage):
        try:
            found = _read_folder(storage, folder)
        except (StorageError, CatalogError, ValueError, TypeError, KeyError) as exc:
            report.skipped.append(f"{folder}: {exc}")
            continue
        if found is None:
            continue
        entry, run_metrics, run_params = found
        metrics[entry.run_id] = run_metrics
        params[entry.run_id] = run_params
        batch.append(entry)
        if len(batch) >= BATCH_SIZE:
            flush()
    if batch:
        flush()
    return report


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_columns(connection: Any, table: str) -> str:
    """The columns of `table` to copy: all but an INTEGER PRIMARY KEY, which is renumbered."""
    info = connection.execute("SELECT name, type, pk FROM pragma_table_info(?)", (table,)).fetchall()
    keys = [name for name, _, pk in info if pk]
    return ", ".join(
        _quote(name)
        for name, kind, pk in info
        if not (pk and len(keys) == 1 and kind.upper() == "INTEGER")
    )


def _swap_in(live: Database, scratch_path: str) -> None:
    connection = live.connection()
    connection.execute("ATTACH DATABASE ? AS fresh", (scratch_path,))

    def work(c: Any) -> None:
        c.execute("DELETE FROM main.runs WHERE kind = 'dag'")
        for table, order in _RUN_TABLES:
            columns = _copy_columns(c, table)
            sql = f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM fresh.{table}"
            c.execute(sql + (f" ORDER BY {order}" if order else ""))

    try:
        live.write(work, connection)
    finally:
        connection.execute("DETACH DATABASE fresh")


def _fsync(path: str, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _replace(live: Database, scratch_path: str) -> None:
    live.close()
    _fsync(scratch_path)
    # A journal left by the damaged file would be replayed into the new one.
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(live.path + suffix)
    os.replace(scratch_path, live.path)
    _fsync(os.path.dirname(live.path), directory=True)


def _remove_stale_scratch(path: str) -> None:
    """Delete scratch files of rebuilds whose process is gone (it crashed or was killed)."""
    for stale in glob.glob(glob.escape(path + _SCRATCH_SUFFIX) + "*"):
        try:
            pid = int(stale[len(path + _SCRATCH_SUFFIX) :].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(FileNotFoundError):
                os.remove(stale)
        except (ValueError, PermissionError, OSError):
            continue


def rebuild(catalog: SQLiteCatalog, storage: BaseStorage) -> RebuildReport:
    """Replace the DAG runs recorded in `catalog` with those found in `storage`.

    See `Catalog.rebuild`. A catalog newer than this tether is refused; a damaged
    catalog file is replaced as a whole.

    Raises:
        SchemaVersionError: the catalog is newer than this tether.
        CatalogError: the catalog cannot be written.
        StorageError: `storage` cannot be listed.
    """
    live = catalog.database
    try:
        live.connection()
        damaged = False
    except CatalogDamagedError:
        damaged = True
    _remove_stale_scratch(live.path)
    scratch_path = f"{live.path}{_SCRATCH_SUFFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    scratch = Database(scratch_path, timeout=live.timeout, migrations=live.migrations, scratch=True)
    try:
        scratch.connection()
        report = _index(scratch, storage)
        scratch.close()
        if damaged:
            _replace(live, scratch_path)
        else:
            _swap_in(live, scratch_path)
    finally:
        scratch.close()
        for leftover in (scratch_path, scratch_path + "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)
    return report
