"""`Record`: one parameter set's trip through the stages, and its state."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tether.experiments.hashing import digest
from tether.experiments.lazy import Lazy

if TYPE_CHECKING:
    from tether.experiments.manager import ArtifactManager

__all__ = ["Record", "State", "ArtifactRepresentation"]


class State(dict):  # type: ignore[type-arg]
    """A record's state: output name to value; a `Lazy` output is loaded when read."""

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        if isinstance(value, Lazy) and value.resolve:
            return value.load()
        return value

    def resolve(self, key: str) -> Any:
        """The value of `key`, a `Lazy` output loaded whatever its `resolve` flag."""
        value = dict.__getitem__(self, key)
        return value.load() if isinstance(value, Lazy) else value


@dataclass
class ArtifactRepresentation:
    """One artifact of a run, as reports and the manager list it.

    Attributes:
        record: the record whose state holds it.
        stage: the stage that produced it.
        name: the output's name.
        key: the cache key of the stage execution (hex).
        bundle_uuid: the bundle that holds it, once registered (None: not cached yet, or no cacher).
        path: its cache file, if it has one.
        type_name: the type of the value.
        cached: whether it was loaded from the cache rather than computed.
        preview: a short description of the value.
    """

    record: Record
    stage: str
    name: str
    key: str
    bundle_uuid: str | None = None
    path: str | None = None
    type_name: str = ""
    cached: bool = False
    preview: str = ""


def preview_of(value: Any, limit: int = 80) -> str:
    """A short, cheap description of `value` for reports."""
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, str | bytes):
        return f"{type(value).__name__} {tuple(shape)}"
    if isinstance(value, list | tuple | dict | set):
        return f"{type(value).__name__} of {len(value)}"
    text = repr(value) if isinstance(value, int | float | bool | str | type(None)) else type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Record:
    """A parameter set (or an aggregate of records) and the state its stages build.

    Args:
        manager: the run's manager; the record adds itself to `manager.records`.
        args: the parameter set, or None (aggregates, records without parameters).
        hide: do not add the record to the manager (scratch records).

    Attributes:
        state: output name to value.
        stages: the stages it ran through, in order.
        stage_inputs: the inputs of each stage, in the same order.
        stage_outputs: the outputs of each stage.
        stage_timings: stage name to seconds.
        stage_status: stage name to `ran`, `cached`, `skipped` or `failed`.
        input_records: an aggregate's input records.
        is_aggregate: whether an aggregate stage ran on it.
        combo_hash: an aggregate's hash, made of its input records' hashes.
        output: the value the last stage returned.
    """

    def __init__(self, manager: ArtifactManager, args: Any, hide: bool = False) -> None:
        self.manager = manager
        self.args = args
        self.state = State()
        self.state_keys: dict[str, str] = {}
        self.state_bundles: dict[str, str | None] = {}
        self.forced: set[str] = set()
        self.stages: list[str] = []
        self.stage_inputs: list[list[str]] = []
        self.stage_outputs: list[list[str]] = []
        self.stage_timings: dict[str, float] = {}
        self.stage_status: dict[str, str] = {}
        self.input_records: list[Record] = []
        self.is_aggregate = False
        self.combo_hash: str | None = None
        self.output: Any = None
        self.tracked_paths: dict[str, list[str]] = {}
        self.index = -1
        if args is not None and getattr(args, "hash", None) is None and hasattr(args, "__dataclass_fields__"):
            from tether.experiments.params import parameters_hash

            args.hash = parameters_hash(args)
        if not hide:
            manager.add_record(self)

    # --- identity --------------------------------------------------------------------------

    def get_hash(self) -> str:
        """The record's hash: its parameter set's, or an aggregate's combined hash."""
        if self.is_aggregate or self.args is None:
            if self.combo_hash is None:
                self.set_aggregate(self.input_records)
            return str(self.combo_hash)
        return str(self.args.hash)

    def set_aggregate(self, records: list[Record]) -> None:
        """Make this an aggregate of `records`: its hash combines theirs (and its own parameters')."""
        self.is_aggregate = True
        self.input_records = list(records)
        own = getattr(self.args, "hash", None) or "none"
        self.combo_hash = digest("aggregate", own, *sorted(r.get_hash() for r in records))[:32]

    @property
    def params(self) -> Any:
        """The parameter set (Curifactory's later name for `args`)."""
        return self.args

    @params.setter
    def params(self, value: Any) -> None:
        self.args = value

    @property
    def name(self) -> str:
        """The parameter set's name (`aggregate` or `none` without one)."""
        if self.args is not None:
            return str(getattr(self.args, "name", "UNNAMED"))
        return "aggregate" if self.is_aggregate else "none"

    # --- paths -----------------------------------------------------------------------------

    def get_path(
        self,
        obj_name: str,
        subdir: str | None = None,
        prefix: str | None = None,
        stage_name: str | None = None,
        track: bool = True,
    ) -> str:
        """A cache path for a file the current stage writes itself, tracked as its artifact.

        Args:
            obj_name: the file's name (the last part of the artifact's file name).
            subdir: a folder under the cache folder.
            prefix: a cache prefix instead of the experiment's.
            stage_name: the stage (default: the one running).
            track: list the file with the stage's artifacts (store-full, bundles).
        """
        path = self.manager.get_artifact_path(obj_name, self, subdir=subdir, prefix=prefix, stage_name=stage_name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if track:
            stage = stage_name or self.manager.current_stage_name or ""
            self.tracked_paths.setdefault(stage, [])
            if path not in self.tracked_paths[stage]:
                self.tracked_paths[stage].append(path)
        return path

    def get_dir(
        self,
        dir_name: str,
        subdir: str | None = None,
        prefix: str | None = None,
        stage_name: str | None = None,
        track: bool = True,
    ) -> str:
        """Like `get_path`, for a folder (created)."""
        path = self.get_path(dir_name, subdir, prefix, stage_name, track)
        os.makedirs(path, exist_ok=True)
        return path

    # --- copies and reports ----------------------------------------------------------------

    def make_copy(self, args: Any = None, add_to_manager: bool = True) -> Record:
        """A new record with a copy of this one's state (and `args`, or a deep copy of these).

        The copy keeps the artifact keys of the state, so stages after the copy
        know what their inputs were made from.
        """
        new_args = copy.deepcopy(self.args) if args is None else args
        if args is not None and hasattr(new_args, "__dataclass_fields__"):
            from tether.experiments.params import parameters_hash

            new_args.hash = parameters_hash(new_args)
        other = Record(self.manager, new_args, hide=not add_to_manager)
        other.state = State(dict.items(self.state))
        other.state_keys = dict(self.state_keys)
        other.state_bundles = dict(self.state_bundles)
        other.forced = set(self.forced)
        other.stages = list(self.stages)
        other.stage_inputs = [list(i) for i in self.stage_inputs]
        other.stage_outputs = [list(o) for o in self.stage_outputs]
        other.input_records = list(self.input_records)
        other.is_aggregate = self.is_aggregate
        other.combo_hash = self.combo_hash
        return other

    def report(self, reportable: Any) -> None:
        """Add a reportable (a table, a figure, ...) to the run's report, from the current stage."""
        manager = self.manager
        reportable.record = self
        reportable.stage = manager.current_stage_name
        if not getattr(reportable, "name", None):
            count = sum(1 for r in manager.reportables if r.record is self and r.stage == reportable.stage)
            reportable.name = f"{reportable.stage or 'reportable'}_{count}"
        manager.reportables.append(reportable)

    def __repr__(self) -> str:
        return f"<Record {self.name} {self.get_hash()[:10]} stages={self.stages}>"
