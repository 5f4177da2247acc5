"""ProcessExecutor: independent tasks in parallel worker processes on this machine."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from tether.exceptions import ImproperlyConfigured
from tether.exec.executors.base import BaseExecutor

if TYPE_CHECKING:
    from tether.exec.dag import Plan
    from tether.exec.runner import TaskRunner
    from tether.exec.worker import WorkerResult


def _workers(options: dict[str, Any]) -> int:
    value = options.get("workers")
    if value is None:
        return os.cpu_count() or 1
    try:
        workers = int(value)
    except (TypeError, ValueError):
        workers = 0
    if workers < 1:
        raise ImproperlyConfigured(f"workers={value!r}: give a whole number of workers, 1 or more")
    return workers


def schedule(
    plan: Plan,
    runner: TaskRunner,
    workers: int,
    submit: Callable[[str], Any],
    lost: Callable[[str, BaseException], WorkerResult],
    wait_first: Callable[[list[Any]], Any] = lambda futures: wait(futures, return_when=FIRST_COMPLETED)[0],
) -> None:
    """Run the tasks of `plan` as their upstream tasks succeed, at most `workers` at once.

    Args:
        plan: the tasks and their dependencies inside the plan.
        runner: records each result (`add_result`).
        workers: how many tasks may run at once.
        submit: starts a task by label, returning a future of its result.
        lost: the result of a task whose worker failed (died, or could not be set up).
        wait_first: blocks until at least one of the futures is done; returns the done ones.
    """
    labels = set(plan.labels)
    waiting = {label: set(plan.upstream.get(label, ())) & labels for label in plan.labels}
    downstream: dict[str, list[str]] = {label: [] for label in plan.labels}
    for label, upstream in waiting.items():
        for name in upstream:
            downstream[name].append(label)
    ready = [label for label in plan.labels if not waiting[label]]
    running: dict[Any, str] = {}
    while ready or running:
        while ready and not runner.failed and len(running) < workers:
            label = ready.pop(0)
            running[submit(label)] = label
        if not running:
            return
        for future in wait_first(list(running)):
            label = running.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:
                outcome = lost(label, exc)
            runner.add_result(outcome.task, outcome.metrics)
            if not outcome.task.ok:
                continue
            for name in downstream[label]:
                waiting[name].discard(label)
                if not waiting[name]:
                    # Keep plan order among tasks that became ready together.
                    ready.append(name)
            ready.sort(key=plan.labels.index)


def lost_task(label: str, exc: BaseException) -> WorkerResult:
    """The failed result of task `label` whose worker raised `exc` instead of returning."""
    from tether.exec.records import TaskRecord, now_iso
    from tether.exec.worker import WorkerResult

    when = now_iso()
    error = f"worker failed: {type(exc).__name__}: {exc}".strip()
    return WorkerResult(TaskRecord(label=label, status="failed", started_at=when, finished_at=when, error=error))


class ProcessExecutor(BaseExecutor):
    """Run tasks in a pool of worker processes, each as soon as its upstream tasks succeed.

    Workers start fresh (the `spawn` method) and rebuild the run from its run
    folder, as they would on another machine. After a failure no new task
    starts; tasks already running finish and are recorded.

    Options (EXECUTOR_OPTIONS or the CLI): `workers` (default: the number of CPUs).
    """

    name = "process"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.workers = _workers(options)

    def prepare(self, plan: Plan, storage: Any) -> None:
        """Refuse DAGs other processes cannot import and storage they cannot reach."""
        from tether.exec.worker import WorkerSetup

        WorkerSetup.capture(plan.dag, "", storage)

    def execute(self, plan: Plan, runner: TaskRunner) -> None:
        """Run the tasks of `plan` in worker processes."""
        from tether.exec.worker import WorkerSetup, run_task_in_worker

        setup = WorkerSetup.capture(plan.dag, runner.record.run_folder, runner.storage)
        workers = min(self.workers, max(1, len(plan.tasks)))
        # The setup travels with each task (a worker sets itself up on its first
        # one), so an error setting up reaches the run's record with its message.
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            schedule(plan, runner, workers, lambda label: pool.submit(run_task_in_worker, label, setup), lost_task)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
