"""Connections: pragmas, processes writing at once, forks, locks and processes killed mid-write."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from typing import Any

import pytest

from tether.catalog import CatalogBusyError, CatalogDamagedError, RunEntry, RunNotFoundError, TaskEntry
from tether.catalog.connection import _inherited, is_busy
from tether.catalog.sqlite import SQLiteCatalog
from tether.catalog.schema import SCHEMA_VERSION

FORK = multiprocessing.get_context("fork")
WRITERS, RUNS_EACH = 8, 200


def test_connections_are_set_up_for_concurrent_use(catalog):
    connection = catalog.database.connection()
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000


def _write_many(path: str, writer: int, parent: SQLiteCatalog, make_run: Any) -> None:
    # `parent` was opened (and used) before the fork: this process must not use its connection.
    assert parent.database.connection() is not None
    for index in range(RUNS_EACH):
        parent.record_run(make_run(index, run_id=f"w{writer}-{index}", dag=f"writer-{writer}"))


def test_eight_processes_record_1600_runs_at_once(catalog, make_run):
    catalog.record_run(make_run(0, run_id="parent"))
    parent_connection = catalog.database.connection()
    writers = [
        FORK.Process(target=_write_many, args=(catalog.path, writer, catalog, make_run))
        for writer in range(WRITERS)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
    assert [process.exitcode for process in writers] == [0] * WRITERS
    assert catalog.database.connection() is parent_connection
    assert catalog.count_runs() == WRITERS * RUNS_EACH + 1
    assert catalog.count_runs(dag="writer-3") == RUNS_EACH
    tasks = parent_connection.execute("SELECT count(*) FROM task_runs").fetchone()[0]
    assert tasks == (WRITERS * RUNS_EACH + 1) * 5
    assert parent_connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _open_fresh_and_write(path: str, writer: int, start: Any) -> None:
    start.wait(10)
    catalog = SQLiteCatalog(path)
    for index in range(20):
        catalog.record_run(RunEntry(f"fresh-{writer}-{index}", "fresh"))


def test_processes_creating_the_same_catalog_at_once(tmp_path):
    path = str(tmp_path / "new" / "catalog.sqlite3")
    start = FORK.Event()
    writers = [FORK.Process(target=_open_fresh_and_write, args=(path, writer, start)) for writer in range(6)]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join(30)
    assert [process.exitcode for process in writers] == [0] * 6
    with SQLiteCatalog(path) as catalog:
        assert catalog.count_runs() == 120 and catalog.schema_version == SCHEMA_VERSION


def _check_fork(catalog: SQLiteCatalog, parent_connection: Any) -> None:
    child_connection = catalog.database.connection()
    ok = child_connection is not parent_connection and any(c is parent_connection for c in _inherited)
    catalog.record_run(RunEntry("from-child", "d"))
    os._exit(0 if ok else 3)


def test_a_forked_child_opens_its_own_connection(catalog):
    parent_connection = catalog.database.connection()
    process = FORK.Process(target=_check_fork, args=(catalog, parent_connection))
    process.start()
    process.join(20)
    assert process.exitcode == 0
    assert catalog.database.connection() is parent_connection
    assert catalog.get_run("from-child").dag == "d"


def test_a_changed_process_id_reopens(catalog, monkeypatch):
    first = catalog.database.connection()
    real = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: real + 100_000)
    second = catalog.database.connection()
    assert second is not first and first in _inherited
    assert catalog.count_runs() == 0


class _StallingTasks(dict):
    """Tasks whose iteration stops half-way: the process is then killed inside the transaction."""

    def __init__(self, tasks: dict[str, TaskEntry], ready: Any) -> None:
        super().__init__(tasks)
        self.ready = ready

    def values(self):  # type: ignore[override]
        for number, task in enumerate(super().values()):
            if number == 3:
                self.ready.set()
                time.sleep(60)
            yield task


def _record_and_stall(path: str, ready: Any, kind: str) -> None:
    catalog = SQLiteCatalog(path)
    if kind == "run":
        tasks = {f"t{number}": {"status": "success"} for number in range(6)}
        entry = RunEntry.from_dict({"run_id": "half", "dag": "d", "tasks": tasks})
        entry.tasks = _StallingTasks(entry.tasks, ready)
        catalog.record_run(entry)
    else:

        def tasks():
            for number in range(6):
                if number == 3:
                    ready.set()
                    time.sleep(60)
                yield TaskEntry(f"new-{number}", "success")

        catalog.record_tasks("whole", tasks())


@pytest.mark.parametrize("kind", ["run", "tasks"])
def test_a_writer_killed_mid_transaction_leaves_nothing_half_written(catalog, make_run, kind):
    catalog.record_run(make_run(0, run_id="whole", tasks=2))
    ready = FORK.Event()
    process = FORK.Process(target=_record_and_stall, args=(catalog.path, ready, kind))
    process.start()
    assert ready.wait(20), "the writer did not reach the middle of its transaction"
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    assert process.exitcode == -signal.SIGKILL

    with SQLiteCatalog(catalog.path, timeout=2) as after:
        with pytest.raises(RunNotFoundError):
            after.get_run("half")
        assert list(after.get_run("whole").tasks) == ["task_0", "task_1"]
        assert after.count_runs() == 1
        connection = after.database.connection()
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("SELECT count(*) FROM task_runs").fetchone()[0] == 2
        after.record_run(make_run(1, run_id="next"))
        assert after.count_runs() == 2


def test_a_lock_held_too_long_is_a_busy_error(tmp_path, make_run):
    catalog = SQLiteCatalog(tmp_path / "c.sqlite3", timeout=0.2)
    catalog.count_runs()
    holder = sqlite3.connect(catalog.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    with pytest.raises(CatalogBusyError, match="stayed locked by other processes for 0.2s; retry"):
        catalog.record_run(make_run(0))
    assert time.monotonic() - started < 5
    assert catalog.count_runs() == 0  # readers are not blocked by a writer
    holder.execute("ROLLBACK")
    catalog.record_run(make_run(0))
    assert catalog.count_runs() == 1
    holder.close()
    catalog.close()


def test_a_damaged_file_says_to_rebuild(tmp_path):
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogDamagedError, match="damaged.*`tether catalog rebuild`"):
        SQLiteCatalog(path).count_runs()


def test_is_busy():
    assert is_busy(sqlite3.OperationalError("database is locked"))
    assert not is_busy(sqlite3.OperationalError("no such table: x"))
    assert not is_busy(ValueError("database is locked"))
