"""Running a DAG: the run folder, its context, per-task logs and `run.json`.

`run_dag` is the template method: it plans, builds and writes the context,
then hands the plan to an executor, which calls back `TaskRunner.run_task` (or
`record`) for each task, and finally records the outcome.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import shlex
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from tether.catalog import CatalogError, default_catalog, metrics_from_manifest
from tether.conf import default_context_manager, settings
from tether.conf.context import Context, Patch, activate, deactivate, load_yaml
from tether.exceptions import ContextError, RunError, StorageError
from tether.exec.dag import DAG, Plan
from tether.exec.executors import BaseExecutor, get_executor
from tether.exec.records import (
    CONTEXT_FILE,
    LOGS_DIR,
    RUN_FILE,
    RunRecord,
    TaskRecord,
    command_line,
    environment,
    load_run,
    now_iso,
)
from tether.exec.registry import get_registry
from tether.exec.task import Task
from tether.files.storages import BaseStorage, default_storage, normalize_path
from tether.files.storages.paths import join_key
from tether.files.storages.tracking import IOLog, track_io
from tether.ops import default_mlops
from tether.ops.backend import METRICS_FILE, read_metrics
from tether.utils import import_string

logger = logging.getLogger("tether.exec")

# run.json is rewritten at most this often while tasks run (and always at the
# start, after a failure and at the end), so that bookkeeping stays O(tasks).
SAVE_INTERVAL = 2.0
LOG_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s - %(message)s")


class _TaskLogHandler(logging.Handler):
    """Sends log records to the log of the task that is running, if any."""

    def __init__(self) -> None:
        super().__init__()
        self.stream: IO[str] | _AppendLog | None = None
        self.setFormatter(LOG_FORMAT)
        self._last: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        # The handler sits on the root and on the `tether` logger; a record that
        # propagates through both is written once.
        if self.stream is None or record is self._last:
            return
        self._last = record
        try:
            self.stream.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


class _AppendLog:
    """A task's log on local disk: each write goes straight to the file.

    Unbuffered, so `tail -f` follows a long task, and lighter than a text file
    object, whose creation is a large share of a short task's bookkeeping.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)

    def write(self, text: str) -> int:
        return os.write(self._fd, text.encode("utf-8"))

    def close(self) -> None:
        os.close(self._fd)


class TaskRunner:
    """Runs tasks of one run and records what happens to them."""

    def __init__(
        self,
        storage: BaseStorage,
        context: Context,
        record: RunRecord,
        on_task_done: Callable[[TaskRecord], None] | None = None,
        *,
        worker: bool = False,
    ) -> None:
        self.storage = storage
        # A worker runs tasks for a run another process owns: it leaves run.json,
        # the catalog and buffered metrics to that process.
        self.worker = worker
        self.on_task_done = on_task_done
        self.context = context
        self.record = record
        self.failed = False
        self._log_handler = _TaskLogHandler()
        self._local_logs: str | None = None
        self._last_save = 0.0
        self._total = len(record.plan)
        self._hooks = [import_string(path, "TASK_HOOKS") for path in settings.TASK_HOOKS]
        self._done = 0

    # --- the executor's side ---------------------------------------------------------

    def run_task(self, task: type[Task]) -> TaskRecord:
        """Run `task` in this process, with its retries, and record the result."""
        label = task.label
        result = TaskRecord(label=label, status="running", started_at=now_iso())
        self.record.tasks[label] = result
        self._done += 1
        logger.debug("Running task %s (%d/%d)", label, self._done, self._total)
        stream = self._open_log(label)
        self._log_handler.stream = stream
        started = time.perf_counter()
        try:
            for attempt in range(task.retries + 1):
                result.attempts = attempt + 1
                # Written straight to the task's log: the console shows progress,
                # and formatting a log record per task costs more than the task.
                when = result.started_at if attempt == 0 else now_iso()
                stream.write(f"{when} START {label} (attempt {attempt + 1} of run {self.record.run_id})\n")
                try:
                    with track_io() as io_log:
                        task().run()
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    stream.write(traceback.format_exc())
                    if attempt < task.retries:
                        logger.warning("Task %s failed (%s); retrying", label, error)
                        time.sleep(task.retry_delay)
                        continue
                    result.status, result.error = "failed", error
                    logger.error("Task %s failed: %s", label, error)
                else:
                    result.status = "success"
                    self._after_task(task, result, io_log)
                break
        except BaseException as exc:
            result.status, result.error = "interrupted", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            result.duration = round(time.perf_counter() - started, 6)
            result.finished_at = now_iso()
            stream.write(f"{result.finished_at} END {label}: {result.status} in {result.duration:.3f}s\n")
            logger.debug("Task %s %s in %.3fs (%d/%d)", label, result.status, result.duration, self._done, self._total)
            self._log_handler.stream = None
            self._close_log(label, stream)
            if not self.worker:
                default_mlops.flush()
                self.record_result(result)
        return result

    def _after_task(self, task: type[Task], result: TaskRecord, io_log: IOLog) -> None:
        """Call TASK_HOOKS; a hook that fails costs a warning, not the task."""
        for hook in self._hooks:
            try:
                hook(task, self.record, result, io_log, self.storage)
            except Exception as exc:
                logger.warning("Task hook %s failed after task %s: %s: %s",
                               getattr(hook, "__qualname__", hook), task.label, type(exc).__name__, exc)

    def add_result(self, result: TaskRecord, metrics: Any = None) -> None:
        """Record the outcome of a task that ran elsewhere (another process or machine).

        Args:
            result: the task's record.
            metrics: what the worker's metrics backend exported (`export_pending`).
        """
        self._done += 1
        self.record.tasks[result.label] = result
        if metrics is not None:
            default_mlops.import_pending(metrics)
            default_mlops.flush()
        self.record_result(result)

    def record_result(self, result: TaskRecord) -> None:
        """Note a finished task; save run.json after a failure or every SAVE_INTERVAL."""
        if self.on_task_done is not None:
            self.on_task_done(result)
        if not result.ok:
            self.failed = True
            self.record.failed_task = self.record.failed_task or result.label
            self.record.error = self.record.error or result.error
            self.save()
        elif time.monotonic() - self._last_save > SAVE_INTERVAL:
            self.save()

    # --- bookkeeping -----------------------------------------------------------------

    def save(self, final: bool = False) -> None:
        """Write run.json (atomically) to the run folder and index the run in the catalog.

        Args:
            final: the run has ended; also index its metrics and parameters.
        """
        self.storage.touch(join_key(self.record.run_folder, RUN_FILE), self.record.to_json())
        self._last_save = time.monotonic()
        _index(self.storage, self.record, final)

    def _log_path(self, label: str) -> str:
        return join_key(self.record.run_folder, LOGS_DIR, f"{label}.log")

    def _open_log(self, label: str) -> IO[str] | _AppendLog:
        if self._local_logs is None:
            local = self.storage.local_path(join_key(self.record.run_folder, LOGS_DIR))
            if local is None:
                return io.StringIO()
            os.makedirs(local, exist_ok=True)
            self._local_logs = local
        return _AppendLog(os.path.join(self._local_logs, f"{label}.log"))

    def _close_log(self, label: str, stream: IO[str] | _AppendLog) -> None:
        if isinstance(stream, io.StringIO):
            path = self._log_path(label)
            previous = self.storage.read(path, "r") if self.storage.isfile(path) else ""
            self.storage.touch(path, previous + stream.getvalue())
        else:
            stream.close()

    def attach(self) -> None:
        """Start sending log records to task logs."""
        for name in ("", "tether"):
            logging.getLogger(name).addHandler(self._log_handler)

    def detach(self) -> None:
        """Stop sending log records to task logs."""
        for name in ("", "tether"):
            logging.getLogger(name).removeHandler(self._log_handler)


def _read_patches(storage: BaseStorage, patches: Sequence[str], local_patches: Sequence[str]) -> list[Patch]:
    loaded = []
    for path in patches:
        if not storage.isfile(path):
            raise ContextError(
                f"--patch {path!r}: no such file in storage ({storage.root}); --patch reads"
                " from storage, --local-patch from this machine"
            )
        loaded.append(Patch.from_yaml(storage.read(path), path))
    for path in local_patches:
        try:
            with open(path, "rb") as handle:
                loaded.append(Patch.from_yaml(handle.read(), path))
        except OSError as exc:
            raise ContextError(
                f"--local-patch {path!r}: cannot read it ({exc.strerror}); give a local YAML file"
            ) from exc
    return loaded


def _build_context(storage: BaseStorage, retry: str | None, patches: list[Patch], sets: Sequence[str]) -> tuple[Context, RunRecord | None]:
    """The run's context and, for a retry of a recorded run, its previous record."""
    if retry is None:
        return default_context_manager.create_context(patches=patches, sets=sets), None
    folder = normalize_path(retry.strip())
    if not folder:
        raise RunError("--retry needs a run folder such as runs/2024/01/01/<run_id>")
    context_path = join_key(folder, CONTEXT_FILE)
    if storage.isfile(context_path):
        base = load_yaml(storage.read(context_path), context_path)
        context = default_context_manager.create_context(base=base, patches=patches, sets=sets)
        return context, load_run(storage, folder)
    run_id = folder.rsplit("/", 1)[-1]
    context = default_context_manager.create_context(
        run_id=run_id, run_folder=folder, patches=patches, sets=sets
    )
    return context, None


@dataclass
class PreparedRun:
    """A run ready to execute: nothing has been written yet."""

    plan: Plan
    context: Context
    record: RunRecord
    executor: BaseExecutor
    storage: BaseStorage
    patches: Sequence[str]
    local_patches: Sequence[str]
    prog: str

    def execute(self, on_task_done: Callable[[TaskRecord], None] | None = None) -> RunRecord:
        """Write the run folder and run the plan; return the final record.

        Args:
            on_task_done: called with each task's record as the task finishes
                (the CLI drives a progress bar with it).
        """
        _execute(self, on_task_done)
        return self.record


def prepare_run(
    dag: str | type[DAG],
    *,
    retry: str | None = None,
    from_task: str | None = None,
    tasks: Sequence[str] = (),
    patches: Sequence[str] = (),
    local_patches: Sequence[str] = (),
    sets: Sequence[str] = (),
    executor: str | None = None,
    workers: int | None = None,
    prog: str = "tether",
    argv: Sequence[str] | None = None,
    storage: BaseStorage | None = None,
) -> PreparedRun:
    """Check everything a run needs and build its context, writing nothing.

    Arguments are those of `run_dag`.

    Raises:
        TetherError: the DAG, a task, the context or the settings are wrong.
    """
    storage = storage if storage is not None else default_storage
    dag_class = dag if isinstance(dag, type) else get_registry().get(dag)
    start_task = import_string(settings.START_TASK, "START_TASK") if settings.START_TASK else None
    plan = dag_class.plan(from_task=from_task, only=tasks, start_task=start_task)
    context, previous = _build_context(
        storage, retry, _read_patches(storage, patches, local_patches), sets
    )
    options = dict(settings.EXECUTOR_OPTIONS)
    if workers is not None:
        options["workers"] = workers
    chosen = get_executor(executor or settings.EXECUTOR_BACKEND, **options)
    chosen.prepare(plan, storage)
    record = _new_record(dag_class, plan, context, previous, prog, argv, patches, local_patches, sets)
    record.storage_root = storage.root
    return PreparedRun(plan, context, record, chosen, storage, patches, local_patches, prog)


def run_dag(dag: str | type[DAG], **options: Any) -> RunRecord:
    """Run a DAG and return its record; the run folder holds everything it made.

    Args:
        dag: the DAG's label or class.
        **options:
            retry: a run folder to run again, reusing its context, run id and
                folder; a folder with no run in it starts a new run there.
            from_task: run this task and all tasks after it.
            tasks: run only these tasks of the DAG.
            patches: YAML files in storage laid over the context.
            local_patches: YAML files on this machine laid over the context.
            sets: `a.b=VALUE` assignments laid over the context.
            executor: `local` or a dotted path; EXECUTOR_BACKEND if None.
            workers: how many workers a parallel executor may use.
            prog: how the user invoked tether, for the commands printed back.
            argv: the command line, recorded in run.json.
            storage: the storage holding the run folder; default_storage if None.

    Raises:
        TetherError: the DAG, a task, the context or the settings are wrong;
            nothing has been written.
    """
    return prepare_run(dag, **options).execute()


def _new_record(
    dag: type[DAG],
    plan: Plan,
    context: Context,
    previous: RunRecord | None,
    prog: str,
    argv: Sequence[str] | None,
    patches: Sequence[str],
    local_patches: Sequence[str],
    sets: Sequence[str],
) -> RunRecord:
    meta = context.meta
    folder = meta.run_folder
    record = previous or RunRecord(run_id=meta.run_id, run_folder=folder, dag=dag.label)
    record.dag = dag.label
    record.status = "running"
    record.created_at = meta.created_at.isoformat()
    record.plan = plan.labels
    record.failed_task = record.error = record.resume = record.finished_at = None
    record.command = command_line(argv)
    record.reproduce = f"{prog} dag {shlex.quote(dag.label)} --patch {shlex.quote(join_key(folder, CONTEXT_FILE))}"
    record.attempts.append({
        "attempt": len(record.attempts) + 1,
        "command": record.command,
        "tasks": plan.labels,
        "patches": list(patches),
        "local_patches": list(local_patches),
        "sets": list(sets),
    })
    for label in dag.task_labels():
        record.tasks.setdefault(label, TaskRecord(label=label))
    return record


def _execute(run: PreparedRun, on_task_done: Callable[[TaskRecord], None] | None) -> None:
    storage, context, record, prog = run.storage, run.context, run.record, run.prog
    folder = record.run_folder
    attempt = record.attempts[-1]
    runner = TaskRunner(storage, context, record, on_task_done)
    token = activate(context)
    runner.attach()
    started = time.perf_counter()
    record.started_at = attempt["started_at"] = now_iso()
    record.environment = environment(settings.BASE_DIR)
    try:
        try:
            storage.touch(join_key(folder, CONTEXT_FILE), context.to_yaml())
            _keep_patches(storage, folder, attempt["attempt"], run.patches, run.local_patches)
            runner.save()
        except StorageError as exc:
            raise RunError(f"cannot write the run folder {folder!r}: {exc}") from exc
        logger.info("Run %s of DAG %s in %s", record.run_id, record.dag, folder)
        run.executor.execute(run.plan, runner)
        record.status = "failed" if runner.failed else "success"
    except KeyboardInterrupt:
        record.status, record.error = "interrupted", record.error or "interrupted by the user"
        raise
    except BaseException as exc:
        record.status = "failed"
        record.error = record.error or f"{type(exc).__name__}: {exc}"
        raise
    finally:
        runner.detach()
        deactivate(token)
        record.finished_at = attempt["finished_at"] = now_iso()
        record.duration = round(time.perf_counter() - started, 6)
        attempt["status"] = record.status
        if record.failed_task:
            record.resume = (
                f"{prog} dag {shlex.quote(record.dag)} --retry {shlex.quote(folder)}"
                f" --from-task {shlex.quote(record.failed_task)}"
            )
        runner.save(final=True)


def _index(storage: BaseStorage, record: RunRecord, final: bool) -> None:
    """Record the run in the catalog. The run folder is the source of truth, so a
    catalog that cannot be written costs a warning, not the run."""
    metrics: list[Any] | None = None
    params: dict[str, Any] | None = None
    try:
        if final:
            stored = read_metrics(join_key(record.run_folder, METRICS_FILE), storage)
            metrics, params = metrics_from_manifest(stored)
        else:
            # Tasks that have not started add nothing to the index yet.
            started = {label: task for label, task in record.tasks.items() if task.status != "pending"}
            record = dataclasses.replace(record, tasks=started)
        default_catalog.record_run(record, metrics=metrics, params=params)
    except (CatalogError, StorageError, ValueError) as exc:
        logger.warning(
            "The catalog could not record run %s (%s); `tether catalog rebuild` indexes it again",
            record.run_id, exc,
        )


def _keep_patches(storage: BaseStorage, folder: str, attempt: int, patches: Sequence[str], local_patches: Sequence[str]) -> None:
    """Copy this attempt's patch files into the run folder, so the run shows what changed it."""
    for index, path in enumerate(patches):
        storage.cp(path, join_key(folder, "patches", f"{attempt}-{index}-{os.path.basename(path)}"), overwrite=True)
    for index, path in enumerate(local_patches, start=len(patches)):
        with open(path, "rb") as handle:
            storage.touch(join_key(folder, "patches", f"{attempt}-{index}-{os.path.basename(path)}"), handle)
