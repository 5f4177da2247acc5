"""The SQLite catalog: runs, task runs, metrics and params in one file, with the stdlib `sqlite3`.

Every value reaches SQLite as a bound parameter; the only text put into SQL is
fixed in this module (column lists, the filters `list_runs` chooses from).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from tether.catalog.base import Catalog, RunLike, TaskLike
from tether.catalog.connection import Database
from tether.catalog.errors import AmbiguousRunError, CatalogError, RunNotFoundError
from tether.catalog.records import (
    RUN_KINDS,
    Metric,
    RebuildReport,
    RunEntry,
    TaskEntry,
    normalize_timestamp,
)
from tether.catalog.schema import MIGRATIONS, Migration, schema_version

if TYPE_CHECKING:
    from tether.catalog.bundle_index import BundleIndex
    from tether.files.storages import BaseStorage

__all__ = ["SQLiteCatalog"]

BATCH_SIZE = 1000

_SUMMARY = (
    "run_id, dag, kind, status, run_folder, storage_root, created_at, started_at,"
    " finished_at, duration, git_commit, git_dirty, host, command"
)
_UPSERT_RUN = f"""
    INSERT INTO runs ({_SUMMARY}, record)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id) DO UPDATE SET
        dag = excluded.dag, kind = excluded.kind, status = excluded.status,
        run_folder = excluded.run_folder, storage_root = excluded.storage_root,
        created_at = excluded.created_at, started_at = excluded.started_at,
        finished_at = excluded.finished_at, duration = excluded.duration,
        git_commit = excluded.git_commit, git_dirty = excluded.git_dirty,
        host = excluded.host, command = excluded.command, record = excluded.record
"""
_UPSERT_TASK = """
    INSERT INTO task_runs (run_id, label, status, started_at, finished_at, duration, attempts, error)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id, label) DO UPDATE SET
        status = excluded.status, started_at = excluded.started_at,
        finished_at = excluded.finished_at, duration = excluded.duration,
        attempts = excluded.attempts, error = excluded.error
"""
_INSERT_METRIC = """
    INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""
_UPSERT_PARAM = """
    INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)
    ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value
"""
_TASKS = (
    "SELECT label, status, started_at, finished_at, duration, attempts, error"
    " FROM task_runs WHERE run_id = ? ORDER BY rowid"
)


# --- rows ------------------------------------------------------------------------------


def as_entry(run: RunLike) -> RunEntry:
    """`run` as a `RunEntry` (a mapping or record object is read as a `run.json`)."""
    return run if isinstance(run, RunEntry) else RunEntry.from_dict(run)


def _run_row(entry: RunEntry) -> tuple[Any, ...]:
    return (
        entry.run_id, entry.dag, entry.kind, entry.status, entry.run_folder,
        entry.storage_root, entry.created_at, entry.started_at, entry.finished_at,
        entry.duration, entry.git_commit,
        None if entry.git_dirty is None else int(entry.git_dirty),
        entry.host, entry.command, entry.record_json(),
    )


def _task_rows(run_id: str, tasks: Iterable[TaskLike]) -> Iterator[tuple[Any, ...]]:
    for task in tasks:
        entry = task if isinstance(task, TaskEntry) else TaskEntry.from_dict(task)
        yield (
            run_id, entry.label, entry.status, entry.started_at, entry.finished_at,
            entry.duration, entry.attempts, entry.error,
        )


def _metric_rows(run_id: str, metrics: Iterable[Metric | Mapping[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for metric in metrics:
        entry = metric if isinstance(metric, Metric) else Metric.from_dict(metric)
        yield run_id, entry.key, entry.step, entry.value, entry.timestamp


def _param_rows(run_id: str, params: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    for key, value in params.items():
        yield run_id, str(key), json.dumps(value, default=str)


def _summary(row: Sequence[Any]) -> RunEntry:
    dirty = row[11]
    return RunEntry(
        run_id=row[0], dag=row[1], kind=row[2], status=row[3], run_folder=row[4],
        storage_root=row[5], created_at=row[6], started_at=row[7], finished_at=row[8],
        duration=row[9], git_commit=row[10], git_dirty=None if dirty is None else bool(dirty),
        host=row[12], command=row[13],
    )


def write_runs(
    connection: sqlite3.Connection,
    entries: Iterable[RunEntry],
    metrics: Mapping[str, Iterable[Metric | Mapping[str, Any]]] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[int, int, int]:
    """Upsert runs with their tasks (and metrics and params by run id) in the caller's transaction.

    Returns:
        How many runs, task rows and new metric values were written.
    """
    runs = tasks = values = 0
    iterator = iter(entries)
    while batch := list(islice(iterator, BATCH_SIZE)):
        connection.executemany(_UPSERT_RUN, [_run_row(entry) for entry in batch])
        rows = [row for entry in batch for row in _task_rows(entry.run_id, entry.tasks.values())]
        connection.executemany(_UPSERT_TASK, rows)
        runs, tasks = runs + len(batch), tasks + len(rows)
        for entry in batch:
            if metrics and entry.run_id in metrics:
                before = connection.total_changes
                connection.executemany(_INSERT_METRIC, _metric_rows(entry.run_id, metrics[entry.run_id]))
                values += connection.total_changes - before
            if params and entry.run_id in params:
                connection.executemany(_UPSERT_PARAM, _param_rows(entry.run_id, params[entry.run_id]))
    return runs, tasks, values


def _prefix_end(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix` (None: there is none).

    SQLite compares text as UTF-8 bytes, which is code point order, so the runs
    whose id starts with `prefix` are exactly those in `[prefix, _prefix_end(prefix))`:
    a range the primary key answers, with no LIKE pattern to escape.
    """
    for index in range(len(prefix) - 1, -1, -1):
        code = ord(prefix[index])
        if code < 0x10FFFF:
            code += 1
            if 0xD800 <= code <= 0xDFFF:
                code = 0xE000
            return prefix[:index] + chr(code)
    return None


def _filters(
    dag: str | None, status: str | None, kind: str | None, before: str | datetime | None = None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    values: list[Any] = []
    for column, value in (("dag", dag), ("status", status), ("kind", kind)):
        if value is not None:
            clauses.append(f"{column} = ?")
            values.append(value)
    if before is not None:
        clauses.append("started_at < ?")
        values.append(normalize_timestamp(before))
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), values


def list_query(
    *,
    dag: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    before: str | datetime | None = None,
    limit: int | None = 50,
) -> tuple[str, list[Any]]:
    """The SQL and parameters of `list_runs`: filters bound as parameters, newest first.

    Each filter has an index ending in `(started_at, run_id)`, so the query walks
    one index backwards and stops after `limit` rows.
    """
    where, values = _filters(dag, status, kind, before)
    values.append(-1 if limit is None else int(limit))
    sql = f"SELECT {_SUMMARY} FROM runs{where} ORDER BY started_at DESC, run_id DESC LIMIT ?"
    return sql, values


class SQLiteCatalog(Catalog):
    """A catalog in one SQLite file, safe for many processes and threads at once.

    Args:
        path: the database file; it and its folder are created on first use.
        timeout: seconds to wait for other processes' write locks before
            `CatalogBusyError`.
        migrations: the schema steps (tests pass their own).
        url: the URL the catalog was opened with, for messages (default: built from `path`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        migrations: Sequence[Migration] = MIGRATIONS,
        url: str | None = None,
    ) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.url = url or f"sqlite:///{self.path}"
        self.database = Database(self.path, timeout=timeout, migrations=migrations)
        self._bundles: BundleIndex | None = None

    @property
    def bundles(self) -> BundleIndex:
        """The index of data bundles in this catalog's file."""
        if self._bundles is None:
            from tether.catalog.bundle_index import BundleIndex

            self._bundles = BundleIndex(self.database)
        return self._bundles

    @property
    def schema_version(self) -> int:
        return self.database.read(schema_version)

    # --- writing -----------------------------------------------------------------------

    def record_run(
        self,
        run: RunLike,
        *,
        metrics: Iterable[Metric | Mapping[str, Any]] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> RunEntry:
        entry = as_entry(run)
        metric_list = None if metrics is None else {entry.run_id: list(metrics)}
        param_map = None if params is None else {entry.run_id: params}
        self.database.write(lambda c: write_runs(c, (entry,), metric_list, param_map))
        return entry

    def record_runs(self, runs: Iterable[RunLike]) -> int:
        entries = (as_entry(run) for run in runs)
        return self.database.write(lambda c: write_runs(c, entries)[0])

    def _require_run(self, connection: sqlite3.Connection, run_id: str) -> None:
        if connection.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
            raise RunNotFoundError(
                f"run {run_id!r} is not in the catalog {self.path}; record the run"
                " (record_run) before its tasks, metrics or params"
            )

    def record_tasks(self, run_id: str, tasks: Iterable[TaskLike]) -> int:
        def work(connection: sqlite3.Connection) -> int:
            self._require_run(connection, run_id)
            before = connection.total_changes
            connection.executemany(_UPSERT_TASK, _task_rows(run_id, tasks))
            return connection.total_changes - before

        return self.database.write(work)

    def record_metrics(self, run_id: str, metrics: Iterable[Metric | Mapping[str, Any]]) -> int:
        def work(connection: sqlite3.Connection) -> int:
            self._require_run(connection, run_id)
            before = connection.total_changes
            connection.executemany(_INSERT_METRIC, _metric_rows(run_id, metrics))
            return connection.total_changes - before

        return self.database.write(work)

    def record_params(self, run_id: str, params: Mapping[str, Any]) -> int:
        def work(connection: sqlite3.Connection) -> int:
            self._require_run(connection, run_id)
            before = connection.total_changes
            connection.executemany(_UPSERT_PARAM, _param_rows(run_id, params))
            return connection.total_changes - before

        return self.database.write(work)

    def delete_run(self, run_id: str) -> bool:
        return self.database.write(
            lambda c: c.execute("DELETE FROM runs WHERE run_id = ?", (run_id,)).rowcount > 0
        )

    # --- reading -----------------------------------------------------------------------

    def get_run(self, ref: str) -> RunEntry:
        text = str(ref).strip()
        if not text:
            raise RunNotFoundError("give a run id, a prefix of one or a run folder; `tether runs ls` lists the runs")
        return self.database.read(lambda c: self._get_run(c, text))

    def _get_run(self, connection: sqlite3.Connection, ref: str) -> RunEntry:
        folder = None
        if "/" in ref:
            folder = ref.strip("/")
            ref = folder.rsplit("/", 1)[-1]
        select = f"SELECT {_SUMMARY}, record FROM runs"
        row = connection.execute(f"{select} WHERE run_id = ?", (ref,)).fetchone()
        if row is None and folder is None:
            row = self._by_prefix(connection, select, ref)
        if row is None or (folder is not None and row[4].strip("/") != folder):
            where = f"in folder {folder!r}" if folder is not None else f"with id {ref!r}"
            raise RunNotFoundError(
                f"no run {where} in the catalog; `tether runs ls` lists the runs"
                " (`tether catalog rebuild` indexes run folders the catalog is missing)"
            )
        entry = _summary(row)
        entry.record = json.loads(row[14])
        entry.tasks = {
            task[0]: TaskEntry(*task) for task in connection.execute(_TASKS, (entry.run_id,))
        }
        return entry

    def _by_prefix(self, connection: sqlite3.Connection, select: str, prefix: str) -> Any:
        end = _prefix_end(prefix)
        where, values = "run_id >= ?", [prefix]
        if end is not None:
            where, values = "run_id >= ? AND run_id < ?", [prefix, end]
        rows = connection.execute(f"{select} WHERE {where} ORDER BY run_id LIMIT 4", values).fetchall()
        if len(rows) <= 1:
            return rows[0] if rows else None
        total = connection.execute(f"SELECT count(*) FROM runs WHERE {where}", values).fetchone()[0]
        shown = ", ".join(row[0] for row in rows[:3])
        raise AmbiguousRunError(
            f"{prefix!r} matches {total} runs ({shown}{', ...' if total > 3 else ''}); give more"
            " characters of the run id, `tether runs ls` lists the runs"
        )

    def list_runs(
        self,
        *,
        dag: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: int | None = 50,
        before: str | datetime | None = None,
    ) -> list[RunEntry]:
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise CatalogError(f"limit is a number of runs (0 or more) or None, not {limit!r}")
        if kind is not None and kind not in RUN_KINDS:
            raise CatalogError(f"run kind {kind!r} is unknown; use one of {', '.join(RUN_KINDS)}")
        sql, values = list_query(dag=dag, status=status, kind=kind, before=before, limit=limit)
        return self.database.read(lambda c: [_summary(row) for row in c.execute(sql, values)])

    def count_runs(
        self, *, dag: str | None = None, status: str | None = None, kind: str | None = None
    ) -> int:
        where, values = _filters(dag, status, kind)
        sql = f"SELECT count(*) FROM runs{where}"
        return self.database.read(lambda c: int(c.execute(sql, values).fetchone()[0]))

    def get_metrics(self, run_id: str, key: str | None = None) -> list[Metric]:
        sql = "SELECT key, value, step, timestamp FROM metrics WHERE run_id = ?"
        values: list[Any] = [run_id]
        if key is not None:
            sql += " AND key = ?"
            values.append(key)
        sql += " ORDER BY key, step, timestamp, id"

        def work(connection: sqlite3.Connection) -> list[Metric]:
            return [
                Metric(key, math.nan if value is None else value, step, timestamp)
                for key, value, step, timestamp in connection.execute(sql, values)
            ]

        return self.database.read(work)

    def get_params(self, run_id: str) -> dict[str, Any]:
        sql = "SELECT key, value FROM params WHERE run_id = ? ORDER BY key"
        return self.database.read(
            lambda c: {key: json.loads(value) for key, value in c.execute(sql, (run_id,))}
        )

    # --- maintenance -------------------------------------------------------------------

    def rebuild(self, storage: BaseStorage) -> RebuildReport:
        from tether.catalog.rebuild import rebuild

        return rebuild(self, storage)

    def close(self) -> None:
        self.database.close()

    def __repr__(self) -> str:
        return f"SQLiteCatalog({self.path!r})"
