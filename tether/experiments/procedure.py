"""`Procedure`: a fixed chain of stages run on one record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tether.experiments.errors import StageError
from tether.experiments.record import Record

if TYPE_CHECKING:
    from tether.experiments.manager import ArtifactManager

__all__ = ["Procedure"]


class Procedure:
    """Stages to run in order on a record: `Procedure([load, train], manager).run(params)`.

    Args:
        stages: decorated stages; the first may be an aggregate.
        manager: the run's manager.
        name: a name for the procedure (default: its stages' names).
        previous_proc: a procedure whose records an aggregate first stage takes.
        records: the records an aggregate first stage takes (default: the
            previous procedure's, else every record of the manager).

    Raises:
        StageError: a step is not a stage, or a later step is an aggregate.
    """

    def __init__(
        self,
        stages: Sequence[Callable[..., Record]],
        manager: ArtifactManager | None = None,
        name: str | None = None,
        previous_proc: Procedure | None = None,
        records: list[Record] | None = None,
    ) -> None:
        if not stages:
            raise StageError("a Procedure needs at least one stage")
        for index, step in enumerate(stages):
            spec = getattr(step, "stage_spec", None)
            if spec is None:
                raise StageError(f"step {index} of the procedure ({step!r}) is not a @stage or @aggregate")
            if index and spec.is_aggregate:
                raise StageError(f"aggregate {spec.name!r} can only be the first step of a Procedure")
        self.stages = list(stages)
        self.manager = manager
        self.name = name or "_".join(step.stage_spec.name for step in stages)  # type: ignore[attr-defined]
        self.previous_proc = previous_proc
        self.records = records
        self.created: list[Record] = []

    def run(self, param_set: Any, record: Record | None = None, hide: bool = False) -> Record:
        """Run the stages on `record` (default: a new record of `param_set`); returns the record.

        Raises:
            StageError: no record and no manager to make one.
        """
        if record is None:
            if self.manager is None:
                raise StageError(f"procedure {self.name!r} has no manager; pass Procedure(stages, manager)")
            record = Record(self.manager, param_set, hide=hide)
        self.created.append(record)
        first = self.stages[0]
        if first.stage_spec.is_aggregate:  # type: ignore[attr-defined]
            records = self.records
            if records is None and self.previous_proc is not None:
                records = list(self.previous_proc.created)
            record = first(record, records)
        else:
            record = first(record)
        for step in self.stages[1:]:
            record = step(record)
        return record

    def __repr__(self) -> str:
        return f"<Procedure {self.name}>"
