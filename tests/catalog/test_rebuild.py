"""Rebuilding the runs index from the run folders in storage."""

from __future__ import annotations

import glob
import multiprocessing
import os
import signal
import time
from typing import Any

import pytest

from tether.catalog import Metric, RunEntry, RunNotFoundError, SchemaVersionError
from tether.catalog.rebuild import iter_run_folders
from tether.catalog.schema import MIGRATIONS, Migration
from tether.catalog.sqlite import SQLiteCatalog
from tether.files.storages.local import LocalStorage

FORK = multiprocessing.get_context("fork")

METRICS = {
    "metrics": {"loss": [{"value": 0.5, "step": 1, "timestamp": 10.0}, {"value": 0.25, "step": 2, "timestamp": 11.0}]},
    "params": {"lr": 0.1},
    "artifacts": [],
}


@pytest.fixture
def filled(storage, make_run, write_run_folder):
    """A storage with five run folders over three days; the first has metrics."""
    runs = [make_run(index * 40_000, run_id=f"run-{index}") for index in range(5)]
    for number, run in enumerate(runs):
        write_run_folder(storage, run, METRICS if number == 0 else None)
    return runs


def test_rebuild_indexes_every_run_folder(catalog, storage, filled):
    report = catalog.rebuild(storage)
    assert (report.runs, report.tasks, report.metrics, report.skipped) == (5, 25, 2, [])
    assert catalog.count_runs() == 5
    assert [run.run_id for run in catalog.list_runs()] == [f"run-{index}" for index in reversed(range(5))]
    entry = catalog.get_run("run-0")
    assert entry.run_folder == filled[0]["run_folder"] and entry.storage_root == storage.root
    assert len(entry.tasks) == 5 and entry.record["reproduce"] == filled[0]["reproduce"]
    assert catalog.get_metrics("run-0") == [Metric("loss", 0.5, 1, 10.0), Metric("loss", 0.25, 2, 11.0)]
    assert catalog.get_params("run-0") == {"lr": 0.1}
    assert len(list(iter_run_folders(storage))) == 5


def test_rebuild_replaces_stale_runs_and_keeps_what_it_does_not_cover(catalog, storage, filled, make_run):
    catalog.record_run(make_run(0, run_id="gone"))
    catalog.record_run(RunEntry("experiment-1", "exp", kind="experiment", status="success"))
    catalog.database.write(lambda c: c.execute("INSERT INTO contexts (name, created_at) VALUES ('ctx', '2024-01-01')"))
    catalog.rebuild(storage)
    with pytest.raises(RunNotFoundError):
        catalog.get_run("gone")
    assert catalog.count_runs(kind="dag") == 5
    assert catalog.get_run("experiment-1").kind == "experiment"
    connection = catalog.database.connection()
    assert connection.execute("SELECT name FROM contexts").fetchall() == [("ctx",)]
    assert not glob.glob(catalog.path + ".rebuild-*")


def test_rebuild_twice_gives_the_same_index(catalog, storage, filled):
    catalog.rebuild(storage)
    first = [vars(run) for run in catalog.list_runs()]
    report = catalog.rebuild(storage)
    assert report.runs == 5 and [vars(run) for run in catalog.list_runs()] == first
    assert len(catalog.get_metrics("run-0")) == 2


def test_unreadable_run_folders_are_skipped(catalog, storage, filled):
    storage.touch("runs/2024/03/01/broken/run.json", "{not json")
    storage.touch("runs/2024/03/01/array/run.json", "[]")
    storage.mkdir("runs/2024/03/01/empty", make_parents=True)
    report = catalog.rebuild(storage)
    assert report.runs == 5
    assert sorted(line.split(":")[0] for line in report.skipped) == ["runs/2024/03/01/array", "runs/2024/03/01/broken"]


def test_rebuild_of_an_empty_storage(catalog, tmp_path, make_run):
    catalog.record_run(make_run(0))
    assert catalog.rebuild(LocalStorage(tmp_path / "nothing")).runs == 0
    assert catalog.count_runs() == 0


class _FailingStorage(LocalStorage):
    """Local storage whose reads fail (or stall) after a few run.json files."""

    def __init__(self, root: str, after: int, ready: Any = None) -> None:
        super().__init__(root)
        self.after, self.ready, self.reads = after, ready, 0

    def read(self, path: str, mode: str = "rb", **options: Any) -> Any:
        if path.endswith("run.json"):
            self.reads += 1
            if self.reads > self.after:
                if self.ready is None:
                    raise OSError("the network went away")
                self.ready.set()
                time.sleep(60)
        return super().read(path, mode, **options)


def test_a_rebuild_that_fails_half_way_changes_nothing(catalog, storage, filled, make_run):
    catalog.record_run(make_run(0, run_id="before"))
    with pytest.raises(OSError, match="network"):
        catalog.rebuild(_FailingStorage(storage.root, after=2))
    assert [run.run_id for run in catalog.list_runs()] == ["before"]
    assert not glob.glob(catalog.path + ".rebuild-*")


def _rebuild_and_stall(path: str, root: str, ready: Any) -> None:
    SQLiteCatalog(path).rebuild(_FailingStorage(root, after=3, ready=ready))


def test_a_rebuild_killed_half_way_leaves_the_old_catalog(catalog, storage, filled, make_run):
    catalog.record_run(make_run(0, run_id="before"))
    ready = FORK.Event()
    process = FORK.Process(target=_rebuild_and_stall, args=(catalog.path, storage.root, ready))
    process.start()
    assert ready.wait(20)
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    assert len(glob.glob(catalog.path + ".rebuild-*")) == 1
    with SQLiteCatalog(catalog.path, timeout=2) as after:
        assert [run.run_id for run in after.list_runs()] == ["before"]
        assert after.rebuild(storage).runs == 5
    assert not glob.glob(catalog.path + ".rebuild-*")


def test_a_damaged_catalog_is_replaced(tmp_path, storage, filled):
    path = tmp_path / "catalog.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    (tmp_path / "catalog.sqlite3-wal").write_bytes(b"stale")
    catalog = SQLiteCatalog(path)
    assert catalog.rebuild(storage).runs == 5
    assert catalog.count_runs() == 5
    assert catalog.database.connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    catalog.close()


def test_a_newer_catalog_is_not_rebuilt(tmp_path, storage, filled):
    path = tmp_path / "catalog.sqlite3"
    SQLiteCatalog(path, migrations=(*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "future"))).count_runs()
    with pytest.raises(SchemaVersionError, match="newer"):
        SQLiteCatalog(path).rebuild(storage)
