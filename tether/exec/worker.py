"""Running one task of a run in another process (or on another machine).

A worker gets a `WorkerSetup`: the settings in force where the run started, the
import path of the DAG, and the run folder. It rebuilds everything else from
the run folder (`context.yaml`, `run.json`), the way a task on another machine
must, runs the task with the same logging, retries and hooks as the local
executor, and returns its `TaskRecord` with the metrics it logged. The process
that owns the run records the result and writes `run.json`; a worker never does.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.exceptions import ImproperlyConfigured, RunError

if TYPE_CHECKING:
    from tether.exec.dag import DAG
    from tether.exec.records import TaskRecord
    from tether.exec.runner import TaskRunner

__all__ = ["WorkerResult", "WorkerSetup", "run_task_in_worker", "setup_worker"]


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to run tasks of one run.

    Attributes:
        settings: the settings in force when the run started (picklable values only).
        settings_module: TETHER_SETTINGS_MODULE of the run, if any.
        sys_path: folders to put first on the worker's import path (the project's).
        dag: import path of the DAG class, `package.module.ClassName`.
        run_folder: the run folder, relative to STORAGE_ROOT.
    """

    settings: dict[str, Any]
    settings_module: str | None
    sys_path: tuple[str, ...]
    dag: str
    run_folder: str

    @classmethod
    def capture(cls, dag: type[DAG], run_folder: str, storage: Any = None) -> WorkerSetup:
        """The setup of a run of `dag` in `run_folder`, from this process's settings.

        Args:
            dag: the DAG class.
            run_folder: the run folder.
            storage: the run's storage, checked to be reachable from other processes.

        Raises:
            ImproperlyConfigured: `dag` cannot be imported by another process, or
                the storage lives in this process's memory.
        """
        from tether.conf import settings
        from tether.files.storages.memory import MemoryStorage

        # default_storage is a lazy proxy: look at what it stands for.
        resolved = storage._resolve() if hasattr(type(storage), "_resolve") else storage
        if isinstance(resolved, MemoryStorage):
            raise ImproperlyConfigured(
                "memory storage lives inside one process, so worker processes cannot see the run;"
                " use --executor local, or a folder or bucket as STORAGE_ROOT"
            )

        path = f"{dag.__module__}.{dag.__qualname__}"
        if dag.__module__ == "__main__" or "<locals>" in dag.__qualname__:
            raise ImproperlyConfigured(
                f"DAG {dag.label!r} ({path}) is not importable from another process; define it in a"
                " module of the project (a `dags` module of INSTALLED_MODULES) to run it in parallel"
            )
        values: dict[str, Any] = {}
        for name, value in settings.wrapped.items():
            try:
                pickle.dumps(value)
            except Exception:
                continue
            values[name] = value
        project = [folder for folder in sys.path if folder and os.path.isdir(folder)]
        return cls(values, os.environ.get("TETHER_SETTINGS_MODULE"), tuple(project), path, run_folder)


@dataclass
class WorkerResult:
    """What a worker hands back for one task.

    Attributes:
        task: the task's record.
        metrics: metrics the task logged and the worker did not write (see
            `BaseOpsBackend.export_pending`), for the run's owner to write.
    """

    task: TaskRecord
    metrics: Any = None


@dataclass
class _Worker:
    setup: WorkerSetup
    dag: type[DAG]
    runner: TaskRunner
    tasks: dict[str, Any] = field(default_factory=dict)


_worker: _Worker | None = None
# A worker process runs one task at a time: the task's log, context and
# metrics are per process (a dask worker may have several threads).
_lock = threading.Lock()


def setup_worker(setup: WorkerSetup) -> None:
    """Prepare this process to run tasks of the run `setup` describes (a pool initializer).

    Raises:
        RunError: the run folder has no context or record to rebuild the run from.
    """
    global _worker
    for folder in reversed(setup.sys_path):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    if setup.settings_module:
        os.environ.setdefault("TETHER_SETTINGS_MODULE", setup.settings_module)
    from tether.conf import settings

    if settings.configured:
        settings.reset()
    settings.configure(**setup.settings)
    from tether.conf.context import Context, activate, load_yaml
    from tether.exec.records import load_run
    from tether.exec.runner import CONTEXT_FILE, TaskRunner
    from tether.files.storages import default_storage
    from tether.files.storages.paths import join_key
    from tether.utils import import_string

    path = join_key(setup.run_folder, CONTEXT_FILE)
    if not default_storage.isfile(path):
        raise RunError(f"the run folder {setup.run_folder!r} has no {CONTEXT_FILE}; a worker cannot rebuild its context")
    context = Context(load_yaml(default_storage.read(path, "r"), path))
    record = load_run(default_storage, setup.run_folder)
    if record is None:
        raise RunError(f"the run folder {setup.run_folder!r} has no readable run.json; a worker cannot join the run")
    activate(context)
    dag = import_string(setup.dag, "DAG")
    runner = TaskRunner(default_storage, context, record, worker=True)
    runner.attach()
    _worker = _Worker(setup, dag, runner, {task.label: task for task in dag.plan().tasks})


def run_task_in_worker(label: str, setup: WorkerSetup | None = None) -> WorkerResult:
    """Run task `label` of the run this worker was set up for; returns its result.

    Args:
        label: the task's label.
        setup: set the worker up first if it is not (for workers without an initializer).

    Raises:
        RunError: the worker is not set up, or `label` is not a task of the DAG.
    """
    with _lock:
        if setup is not None and (_worker is None or _worker.setup != setup):
            setup_worker(setup)
        if _worker is None:
            raise RunError("this worker was not set up; call setup_worker(setup) first")
        task = _worker.tasks.get(label)
        if task is None:
            raise RunError(f"DAG {_worker.dag.label!r} has no task {label!r}")
        from tether.ops import default_mlops

        result = _worker.runner.run_task(task)
        return WorkerResult(result, default_mlops.export_pending())
