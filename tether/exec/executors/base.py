"""The executor interface: how the tasks of a plan are run."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from tether.exec.dag import Plan
    from tether.exec.runner import TaskRunner


class BaseExecutor(abc.ABC):
    """Runs the tasks of a `Plan`; the runner owns the bookkeeping around it.

    An executor implements one method, `execute`. For every task it either calls
    `runner.run_task(task)` in this process, or has a worker call
    `tether.exec.worker.run_task_in_worker(label, setup)` and hands the result
    back with `runner.add_result(result.task, result.metrics)`. It must not start
    a task before the tasks in
    `plan.upstream[task.label]` have succeeded, and must stop starting tasks once
    `runner.failed` is true.

    Args:
        **options: EXECUTOR_OPTIONS from settings, plus `workers` from the CLI.
    """

    name: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def prepare(self, plan: Plan, storage: Any) -> None:
        """Check, before anything is written, that this executor can run `plan` on `storage`.

        Raises:
            TetherError: it cannot, with what to do instead.
        """

    @abc.abstractmethod
    def execute(self, plan: Plan, runner: TaskRunner) -> None:
        """Run the tasks of `plan` through `runner`."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.options!r})"
