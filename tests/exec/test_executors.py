"""ProcessExecutor and DaskExecutor: a diamond DAG in a fresh project, run as the CLI runs it."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tether.exceptions import ImproperlyConfigured
from tether.exec import DAG, Task
from tether.exec.executors import BaseExecutor, ProcessExecutor, get_executor
from tether.exec.runner import run_dag
from tether.testing import override_settings

TASKS = """
    import json
    import os
    import time

    from tether.conf import default_context
    from tether.exec import Task
    from tether.files.storages import default_storage
    from tether.ops import default_mlops


    def note(name):
        folder = default_context.meta.run_folder
        default_storage.touch(f"{folder}/{name}.json", json.dumps({"pid": os.getpid(), "rows": default_context.rows}))


    class Start(Task):
        def run(self):
            note("start")


    class Left(Task):
        requires = (Start,)

        def run(self):
            time.sleep(float(os.environ.get("SLOW", "0")))
            if os.environ.get("FAIL_LEFT"):
                raise RuntimeError("left broke")
            default_mlops.log_metric("left_loss", 0.5)
            note("left")


    class Right(Task):
        requires = (Start,)

        def run(self):
            time.sleep(float(os.environ.get("SLOW", "0")))
            default_mlops.log_metric("right_loss", 0.25)
            note("right")


    class Join(Task):
        requires = (Left, Right)

        def run(self):
            folder = default_context.meta.run_folder
            assert default_storage.isfile(f"{folder}/left.json") and default_storage.isfile(f"{folder}/right.json")
            note("join")
"""

DAGS = """
    from tether.exec import DAG
    from .tasks import Join, Left, Right, Start

    class Diamond(DAG):
        label = "diamond"
        tasks = [Start, Left, Right, Join]
"""


@pytest.fixture
def diamond(project):
    project.add_module("shapes", tasks=TASKS, dags=DAGS)
    project.write("configs/context.yaml", "rows: 3\n")
    return project


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_independent_tasks_run_at_once_in_other_processes(diamond, executor):
    result = diamond.run("dag", "diamond", "--executor", executor, "--workers", "2", "--set", "rows=7",
                         env={"SLOW": "1.5"})
    assert result.code == 0, result.err
    (record,) = diamond.runs()
    assert record["status"] == "success"
    folder = diamond.run_folder(record)
    notes = {name: json.loads((folder / f"{name}.json").read_text()) for name in ("start", "left", "right", "join")}
    # Each worker rebuilt the context from the run folder, --set included.
    assert {note["rows"] for note in notes.values()} == {7}
    assert notes["left"]["pid"] != notes["right"]["pid"]
    tasks = record["tasks"]
    left, right, join = tasks["left"], tasks["right"], tasks["join"]
    assert _when(left["started_at"]) < _when(right["finished_at"]) and _when(right["started_at"]) < _when(left["finished_at"])
    assert _when(join["started_at"]) >= max(_when(left["finished_at"]), _when(right["finished_at"]))
    for label in ("start", "left", "right", "join"):
        log = (folder / "logs" / f"{label}.log").read_text()
        assert f"START {label}" in log and f"END {label}: success" in log
    metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
    assert set(metrics) == {"left_loss", "right_loss"}
    # Task outputs became bundles, made in the workers.
    listed = diamond.run("ls", "diamond.*")
    assert listed.code == 0, listed.err
    assert "diamond.left" in listed.out and "diamond.join" in listed.out


def test_a_failed_task_stops_what_depends_on_it_and_resumes(diamond):
    failed = diamond.run("dag", "diamond", "--executor", "process", "--workers", "2", env={"FAIL_LEFT": "1"})
    assert failed.code == 1
    assert "left" in failed.err and "RuntimeError: left broke" in failed.err
    (record,) = diamond.runs()
    assert record["status"] == "failed" and record["failed_task"] == "left"
    assert record["tasks"]["right"]["status"] == "success"
    assert "join" not in record["tasks"] or record["tasks"]["join"]["status"] != "success"
    resumed = diamond.run("dag", "diamond", "--retry", record["run_folder"], "--from-task", "left",
                          "--executor", "process", "--workers", "2")
    assert resumed.code == 0, resumed.err
    (again,) = diamond.runs()
    assert again["status"] == "success" and again["tasks"]["join"]["status"] == "success"


def test_short_names_resolve():
    assert isinstance(get_executor("process", workers=2), ProcessExecutor)
    dask = get_executor("dask")
    assert isinstance(dask, BaseExecutor) and dask.name == "dask"


def test_what_workers_cannot_run_is_refused_before_anything_is_written(tmp_path):
    class Only(Task):
        def run(self):
            pass

    class Local(DAG):
        label = "local-only"
        tasks = [Only]

    with override_settings(BASE_DIR=str(tmp_path), STORAGE_ROOT=str(tmp_path / "data")):
        with pytest.raises(ImproperlyConfigured, match="not importable from another process"):
            run_dag(Local, executor="process")
        with pytest.raises(ImproperlyConfigured, match="whole number of workers"):
            run_dag(Local, executor="process", workers=0)
    assert not (tmp_path / "data").exists()


def test_memory_storage_is_refused(tmp_path):
    class Only(Task):
        def run(self):
            pass

    class Memory(DAG):
        label = "memory-only"
        tasks = [Only]

    with override_settings(BASE_DIR=str(tmp_path), STORAGE_BACKEND="tether.files.storages.memory.MemoryStorage",
                           STORAGE_ROOT="memory://"):
        with pytest.raises(ImproperlyConfigured, match="memory storage lives inside one process"):
            run_dag(Memory, executor="process")
