"""DAG: a named set of tasks and the order they run in, checked when the class is defined."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tether.exceptions import DAGError, TaskNotFoundError
from tether.exec.task import Task
from tether.utils import close_matches, snake_case


@dataclass(frozen=True)
class Plan:
    """The tasks one run executes, in order, with their dependencies inside the plan."""

    dag: type[DAG]
    tasks: tuple[type[Task], ...]
    upstream: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        """Task labels in execution order."""
        return [task.label for task in self.tasks]


def _name(task: Any) -> str:
    return getattr(task, "__name__", repr(task))


class DAG:
    """A pipeline: `label` names it, `tasks` lists its Task classes.

    List order is a chain. If any task declares `requires`, the DAG is the graph
    those edges give and list order only breaks ties. Cycles, tasks that are not
    Task classes, `requires` naming a task outside the DAG, and duplicate labels
    raise DAGError when the class is defined.
    """

    label: ClassVar[str]
    tasks: ClassVar[Sequence[type[Task]]] = ()
    extra_options: ClassVar[dict[str, Any]] = {}

    _order: ClassVar[tuple[type[Task], ...]] = ()
    _upstream: ClassVar[dict[str, frozenset[str]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "label" not in cls.__dict__ or not cls.__dict__["label"]:
            name = snake_case(cls.__name__)
            cls.label = name[: -len("_dag")] if name.endswith("_dag") and name != "_dag" else name
        cls._order, cls._upstream = _resolve(cls)

    @classmethod
    def task_labels(cls) -> list[str]:
        """Labels of the DAG's tasks in execution order."""
        return [task.label for task in cls._order]

    @classmethod
    def get_task(cls, label: str) -> type[Task]:
        """The task class labelled `label`.

        Raises:
            TaskNotFoundError: no task of this DAG has that label.
        """
        for task in cls._order:
            if task.label == label:
                return task
        raise TaskNotFoundError(
            f"task {label!r} is not in DAG {cls.label!r} (tasks: {', '.join(cls.task_labels())})."
            + close_matches(label, cls.task_labels())
        )

    @classmethod
    def plan(
        cls,
        from_task: str | None = None,
        only: Iterable[str] = (),
        start_task: type[Task] | None = None,
    ) -> Plan:
        """The tasks to run.

        Args:
            from_task: run this task and every task after it in execution order.
            only: run just these tasks (each must belong to the DAG).
            start_task: a set-up task (START_TASK) run before the others.

        Raises:
            TaskNotFoundError: a named task is not in the DAG.
            DAGError: both `from_task` and `only` are given.
        """
        only = list(only)
        if from_task and only:
            raise DAGError("--from-task and --task exclude each other; give one of them")
        order = list(cls._order)
        if from_task:
            first = cls.get_task(from_task)
            order = order[order.index(first):]
        elif only:
            wanted = {cls.get_task(label) for label in only}
            order = [task for task in order if task in wanted]
        chosen = {task.label for task in order}
        upstream = {
            task.label: frozenset(cls._upstream.get(task.label, frozenset()) & chosen)
            for task in order
        }
        if start_task is not None and start_task not in order:
            for label in upstream:
                upstream[label] = upstream[label] | {start_task.label}
            upstream[start_task.label] = frozenset()
            order.insert(0, start_task)
        return Plan(cls, tuple(order), upstream)


def _resolve(dag: type[DAG]) -> tuple[tuple[type[Task], ...], dict[str, frozenset[str]]]:
    """Check a DAG's tasks and return them in execution order with their upstream labels."""
    tasks = list(dag.tasks)
    if not tasks:
        return (), {}
    for index, task in enumerate(tasks):
        if not (isinstance(task, type) and issubclass(task, Task)):
            raise DAGError(
                f"DAG {dag.__name__}: tasks[{index}] is {task!r}, not a Task class;"
                " list Task subclasses"
            )
    by_label: dict[str, type[Task]] = {}
    for task in tasks:
        other = by_label.setdefault(task.label, task)
        if other is not task or tasks.count(task) > 1:
            raise DAGError(
                f"DAG {dag.__name__}: tasks {other.__name__} and {task.__name__} share the"
                f" label {task.label!r}; give each task a distinct label"
            )
    position = {task: index for index, task in enumerate(tasks)}
    if any(task.requires for task in tasks):
        upstream: dict[type[Task], list[type[Task]]] = {}
        for task in tasks:
            for needed in task.requires:
                if needed not in position:
                    raise DAGError(
                        f"DAG {dag.__name__}: {task.__name__} requires {_name(needed)},"
                        " which is not in the DAG's tasks; add it to tasks"
                    )
            upstream[task] = list(task.requires)
    else:
        upstream = {task: tasks[index - 1 : index] for index, task in enumerate(tasks)}

    # Kahn's algorithm; ties go to the earlier task in the list.
    waiting = {task: len(set(needs)) for task, needs in upstream.items()}
    downstream: dict[type[Task], list[type[Task]]] = {task: [] for task in tasks}
    for task, needs in upstream.items():
        for needed in set(needs):
            downstream[needed].append(task)
    ready = [position[task] for task, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[type[Task]] = []
    while ready:
        task = tasks[heapq.heappop(ready)]
        order.append(task)
        for child in downstream[task]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, position[child])
    if len(order) < len(tasks):
        raise DAGError(
            f"DAG {dag.__name__} has a cycle through {_cycle(upstream, set(tasks) - set(order))};"
            " remove one of these requires"
        )
    return tuple(order), {
        task.label: frozenset(needed.label for needed in upstream[task]) for task in tasks
    }


def _cycle(upstream: dict[type[Task], list[type[Task]]], stuck: set[type[Task]]) -> str:
    """Name one cycle among the tasks that could not be ordered, as `A -> B -> A`."""
    start = min(stuck, key=lambda task: task.__name__)
    path = [start]
    seen = {start: 0}
    current = start
    while True:
        current = next(needed for needed in upstream[current] if needed in stuck)
        if current in seen:
            loop = path[seen[current]:] + [current]
            return " -> ".join(task.__name__ for task in reversed(loop))
        seen[current] = len(path)
        path.append(current)
