"""What the catalog stores about a run, as plain dataclasses.

The catalog does not know the runner's classes: a run is given as a `RunEntry`
or as the dictionary of its `run.json` (`RunEntry.from_dict` reads both the
file's layout and objects whose attributes carry the same names).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tether.catalog.errors import CatalogError

__all__ = [
    "RUN_KINDS",
    "RunEntry",
    "TaskEntry",
    "Metric",
    "RebuildReport",
    "metrics_from_manifest",
    "normalize_timestamp",
]

RUN_KINDS = ("dag", "experiment")

_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", re.ASCII)
_WHOLE_SECOND = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", re.ASCII)

# The fields of a run that sit at the top level of its run.json (git and host
# live inside `environment`, which `record` keeps).
_MANIFEST_FIELDS = (
    "run_id",
    "dag",
    "kind",
    "status",
    "run_folder",
    "storage_root",
    "created_at",
    "started_at",
    "finished_at",
    "duration",
    "command",
)


def normalize_timestamp(value: str | datetime | None) -> str | None:
    """`value` as an ISO 8601 UTC timestamp with microseconds, so that text order is time order.

    A naive datetime is taken as UTC; text that is not ISO 8601 is kept as given.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if _CANONICAL.fullmatch(value):
            return value
        if _WHOLE_SECOND.fullmatch(value):
            return f"{value[:19]}.000000+00:00"
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    elif isinstance(value, datetime):
        moment = value
    else:
        raise TypeError(f"a timestamp is an ISO 8601 string or a datetime, not {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _fields(obj: Any) -> Mapping[str, Any]:
    if isinstance(obj, Mapping):
        return obj
    try:
        return vars(obj)
    except TypeError:
        raise CatalogError(
            f"cannot record a {type(obj).__name__}: give a mapping or a dataclass instance"
        ) from None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass
class TaskEntry:
    """Status and timings of one task of a run.

    Attributes:
        label: the task's label, unique within its run.
        status: `pending`, `running`, `success`, `failed`, `interrupted`, ...
        started_at: ISO 8601 UTC time the first attempt started.
        finished_at: ISO 8601 UTC time the last attempt ended.
        duration: seconds, all attempts included.
        attempts: how many times the task ran.
        error: `Type: message` of the last failure.
    """

    label: str
    status: str = "pending"
    started_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None
    attempts: int = 0
    error: str | None = None

    def __post_init__(self) -> None:
        self.started_at = normalize_timestamp(self.started_at)
        self.finished_at = normalize_timestamp(self.finished_at)

    @classmethod
    def from_dict(cls, data: Any, label: str | None = None) -> TaskEntry:
        """A task entry from a mapping (a task of `run.json`) or an object with the same attributes."""
        values = _fields(data)
        name = values.get("label") or label
        if not name:
            raise CatalogError("a task has no label; give every task a label before recording it")
        return cls(
            label=str(name),
            status=str(values.get("status") or "pending"),
            started_at=values.get("started_at"),
            finished_at=values.get("finished_at"),
            duration=_float(values.get("duration")),
            attempts=int(values.get("attempts") or 0),
            error=values.get("error"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The task as it appears in `run.json`."""
        return dict(vars(self))


@dataclass
class RunEntry:
    """One run as the catalog records it.

    The columns the catalog queries are attributes; `record` keeps the rest of
    the run's manifest (`run.json` without its tasks, which are in `tasks`).
    `list_runs` returns entries without `tasks` and `record`; `get_run` fills both.

    Attributes:
        run_id: the run's id.
        dag: the DAG label (or the experiment name for an experiment run).
        kind: `dag` or `experiment`.
        status: `running`, `success`, `failed`, `interrupted`, ...
        run_folder: the run folder, relative to the storage root.
        storage_root: the storage root the run folder is in.
        created_at: ISO 8601 UTC times, normalized so text order is time order.
        started_at: see `created_at`.
        finished_at: see `created_at`.
        duration: seconds.
        git_commit: the full commit hash of the project's checkout.
        git_dirty: whether the checkout had uncommitted changes.
        host: the machine that ran it.
        command: the command line that started it.
        tasks: task label to `TaskEntry`, in the order the tasks started.
        record: the rest of the manifest (plan, environment, attempts, ...).
    """

    run_id: str
    dag: str
    kind: str = "dag"
    status: str = "running"
    run_folder: str = ""
    storage_root: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    host: str | None = None
    command: str | None = None
    tasks: dict[str, TaskEntry] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.run_id, str) or not self.run_id:
            raise CatalogError(f"a run id is a non-empty string, not {self.run_id!r}")
        if self.kind not in RUN_KINDS:
            raise CatalogError(f"run kind {self.kind!r} is unknown; use one of {', '.join(RUN_KINDS)}")
        for name in ("created_at", "started_at", "finished_at"):
            setattr(self, name, normalize_timestamp(getattr(self, name)))

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        kind: str | None = None,
        storage_root: str | None = None,
    ) -> RunEntry:
        """A run entry from the contents of a `run.json` (a mapping or a record object).

        Args:
            data: the manifest: `run_id`, `dag`, `status`, `run_folder`, timings,
                `command`, `environment` (`host`, `git.commit`, `git.dirty`) and
                `tasks` (label to a task mapping or object); other keys go to `record`.
            kind: the run's kind; defaults to `data["kind"]`, else `dag`.
            storage_root: the storage root of the run folder; defaults to
                `data["storage_root"]`.

        Raises:
            CatalogError: `data` has no run id or names an unknown kind.
        """
        values = _fields(data)
        if not values.get("run_id"):
            raise CatalogError("the run has no run_id; record the contents of a run's run.json")
        environment = values.get("environment") or {}
        git = environment.get("git") or {}
        dirty = git.get("dirty")
        tasks = {
            str(label): task if isinstance(task, TaskEntry) else TaskEntry.from_dict(task, label=str(label))
            for label, task in (values.get("tasks") or {}).items()
        }
        record = {key: value for key, value in values.items() if key != "tasks"}
        return cls(
            run_id=str(values["run_id"]),
            dag=str(values.get("dag") or ""),
            kind=kind or values.get("kind") or "dag",
            status=str(values.get("status") or "running"),
            run_folder=str(values.get("run_folder") or ""),
            storage_root=storage_root if storage_root is not None else values.get("storage_root"),
            created_at=values.get("created_at"),
            started_at=values.get("started_at"),
            finished_at=values.get("finished_at"),
            duration=_float(values.get("duration")),
            git_commit=git.get("commit"),
            git_dirty=None if dirty is None else bool(dirty),
            host=environment.get("host"),
            command=values.get("command"),
            tasks=tasks,
            record=record,
        )

    def to_dict(self) -> dict[str, Any]:
        """The run as a `run.json`-shaped dictionary: `record` with the columns and tasks laid over it."""
        data = dict(self.record)
        for name in _MANIFEST_FIELDS:
            data[name] = getattr(self, name)
        data["tasks"] = {label: task.to_dict() for label, task in self.tasks.items()}
        return data

    def record_json(self) -> str:
        """`record` as compact JSON (values JSON cannot hold are written as text)."""
        return json.dumps(self.record, default=str, separators=(",", ":"))

    @property
    def ok(self) -> bool:
        """Whether the run succeeded."""
        return self.status == "success"


@dataclass
class Metric:
    """One logged value of a metric.

    Attributes:
        key: the metric's name.
        value: the value.
        step: the step of a curve, or None.
        timestamp: seconds since the epoch when it was logged, or None.
    """

    key: str
    value: float
    step: int | None = None
    timestamp: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], key: str | None = None) -> Metric:
        """A metric from a mapping with `value`, `step`, `timestamp` (and `key`, unless given)."""
        name = data.get("key", key)
        if name is None:
            raise CatalogError("a metric has no key; give every metric a name")
        step = data.get("step")
        return cls(
            key=str(name),
            value=float(data["value"]),
            step=None if step is None else int(step),
            timestamp=_float(data.get("timestamp")),
        )


def metrics_from_manifest(data: Mapping[str, Any]) -> tuple[list[Metric], dict[str, Any]]:
    """The metrics and parameters of a run's `metrics.json`.

    Args:
        data: `{"metrics": {key: [{"value", "step", "timestamp"}, ...]}, "params": {key: value}}`.

    Returns:
        The metrics, in the file's order, and the parameters.
    """
    metrics = [
        Metric.from_dict(entry, key=key)
        for key, entries in (data.get("metrics") or {}).items()
        for entry in entries
    ]
    return metrics, dict(data.get("params") or {})


@dataclass
class RebuildReport:
    """What `Catalog.rebuild` found in storage.

    Attributes:
        runs: runs recorded.
        tasks: task rows recorded.
        metrics: metric values recorded.
        skipped: run folders whose `run.json` could not be read, with the reason.
    """

    runs: int = 0
    tasks: int = 0
    metrics: int = 0
    skipped: list[str] = field(default_factory=list)
