"""LocalExecutor: every task in this process, one after another, in plan order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tether.exec.executors.base import BaseExecutor

if TYPE_CHECKING:
    from tether.exec.dag import Plan
    from tether.exec.runner import TaskRunner


class LocalExecutor(BaseExecutor):
    """Run tasks in order in the current process; stop at the first failure."""

    name = "local"

    def execute(self, plan: Plan, runner: TaskRunner) -> None:
        """Run each task of `plan` in turn until one fails."""
        for task in plan.tasks:
            if not runner.run_task(task).ok:
                return
