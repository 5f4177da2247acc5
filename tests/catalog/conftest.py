"""Factories for catalog tests: a catalog in a temporary folder, runs shaped like the runner's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tether.catalog.sqlite import SQLiteCatalog
from tether.exec.records import RunRecord, TaskRecord
from tether.files.storages.local import LocalStorage

START = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)

RunFactory = Callable[..., dict[str, Any]]


def run_dict(
    index: int = 0,
    *,
    run_id: str | None = None,
    dag: str = "etl",
    status: str = "success",
    tasks: int = 5,
    started: datetime | None = None,
) -> dict[str, Any]:
    """The contents of a `run.json` as the runner writes it (through its own RunRecord)."""
    run_id = run_id or str(uuid.uuid4())
    started = started or START + timedelta(seconds=index)
    day = started.strftime("%Y/%m/%d")
    labels = [f"task_{number}" for number in range(tasks)]
    record = RunRecord(
        run_id=run_id,
        run_folder=f"runs/{day}/{run_id}",
        dag=dag,
        status=status,
        created_at=started.isoformat(),
        started_at=started.isoformat(),
        finished_at=(started + timedelta(seconds=2)).isoformat(),
        duration=2.0,
        plan=labels,
        tasks={
            label: TaskRecord(
                label=label,
                status="success",
                started_at=(started + timedelta(milliseconds=number)).isoformat(),
                finished_at=(started + timedelta(milliseconds=number + 1)).isoformat(),
                duration=0.001,
                attempts=1,
            )
            for number, label in enumerate(labels)
        },
        command=f"tether dag {dag}",
        reproduce=f"tether dag {dag} --retry runs/{day}/{run_id}",
        environment={
            "host": "worker-1",
            "user": "ada",
            "python": "3.11.7",
            "platform": "Linux",
            "tether_version": "0.1.0",
            "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main", "dirty": False},
        },
    )
    return json.loads(record.to_json())


@pytest.fixture
def catalog(tmp_path: Path):
    """A fresh SQLite catalog under the test's temporary folder."""
    with SQLiteCatalog(tmp_path / "catalog" / "catalog.sqlite3", timeout=10) as opened:
        yield opened


@pytest.fixture
def make_run() -> RunFactory:
    """`make_run(index, run_id=..., dag=..., status=..., tasks=..., started=...)` -> run.json dict."""
    return run_dict


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    """Local storage in a temporary folder, as STORAGE_ROOT would be."""
    return LocalStorage(tmp_path / "data")


def _write_run_folder(storage: LocalStorage, run: dict[str, Any], metrics: dict[str, Any] | None = None) -> str:
    folder = run["run_folder"]
    storage.touch(f"{folder}/run.json", json.dumps(run, default=str))
    storage.touch(f"{folder}/context.yaml", "meta: {}\n")
    if metrics is not None:
        storage.touch(f"{folder}/metrics.json", json.dumps(metrics, indent=2))
    return folder


@pytest.fixture
def write_run_folder() -> Callable[..., str]:
    """`write_run_folder(storage, run, metrics=None)`: write run.json (and metrics.json) as the runner does."""
    return _write_run_folder
