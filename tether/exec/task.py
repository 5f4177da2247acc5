"""Task: one step of a DAG. It takes no arguments; data passes through storage."""

from __future__ import annotations

import logging
from typing import ClassVar

from tether.utils import snake_case


class Task:
    """A step of a pipeline. Subclasses implement `run()`.

    Attributes:
        label: the task's name in a DAG and on the command line; defaults to
            the class name in snake case (`ForecastTrainingTask` ->
            `forecast_training_task`).
        requires: tasks that must finish before this one. When any task of a
            DAG declares `requires`, the DAG is the graph these edges give.
        retries: how many more times to run the task after it raises.
        retry_delay: seconds to wait between those attempts.
    """

    label: ClassVar[str]
    requires: ClassVar[tuple[type[Task], ...]] = ()
    retries: ClassVar[int] = 0
    retry_delay: ClassVar[float] = 0.0

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "label" not in cls.__dict__ or not cls.__dict__["label"]:
            cls.label = snake_case(cls.__name__)
        if not isinstance(cls.requires, tuple | list):
            cls.requires = (cls.requires,)

    @property
    def logger(self) -> logging.Logger:
        """A logger whose records go to this task's log in the run folder."""
        return logging.getLogger(f"tether.task.{self.label}")

    def run(self) -> None:
        """The task's work. Read inputs from and write outputs to storage."""
        raise NotImplementedError(f"{type(self).__name__}.run() is not implemented")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r}>"
