"""Executing one stage call: its cache key, the decision (run, load, skip), and the run itself.

`stage.py` declares stages; every call of a decorated stage comes here. In map
mode a call only computes its key and records a `planning.PlanNode`; in a
normal run it follows the plan (or, without one, loads on a cache hit and runs
otherwise), fills the record's state, and queues what it computed for the cache.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from tether.catalog.experiments import CacheRow
from tether.experiments import planning
from tether.experiments.cache_store import PendingExecution
from tether.experiments.errors import OutputSignatureError, StageError
from tether.experiments.hashing import digest, fingerprint
from tether.experiments.lazy import Lazy
from tether.experiments.record import ArtifactRepresentation, Record, preview_of

if TYPE_CHECKING:
    from tether.experiments.stage import StageSpec

__all__ = ["MAPPED", "call"]

logger = logging.getLogger("tether.experiments")


class _Mapped:
    """The value of an output in map mode, where no stage runs."""

    def __repr__(self) -> str:
        return "<mapped>"


MAPPED = _Mapped()


def _state_key(record: Record, name: str) -> str:
    key = record.state_keys.get(name)
    if key is None:
        value = dict.__getitem__(record.state, name)
        key = record.state_keys[name] = "value:" + fingerprint(value)
    return key


def _input_keys(spec: StageSpec, record: Record, records: list[Record]) -> dict[str, str]:
    if spec.is_aggregate:
        keys: dict[str, str] = {}
        for other in records:
            for name in other.state:
                keys[f"{other.get_hash()}/{name}"] = _state_key(other, name)
        return keys
    keys = {}
    for name in spec.inputs:
        if name not in record.state:
            if spec.suppress_missing_inputs:
                continue
            have = ", ".join(sorted(record.state)) or "nothing"
            raise StageError(
                f"stage {spec.name!r} needs input {name!r}, which is not in the state of record"
                f" {record.name!r} (it has {have}); run the stage that outputs it first"
            )
        keys[name] = _state_key(record, name)
    return keys


def _force_reason(spec: StageSpec, record: Record, records: list[Record]) -> str | None:
    manager = record.manager
    if manager.parallel_done:
        # The workers already recomputed what was to be overwritten; an aggregate
        # cannot tell from keys that its inputs were recomputed, so it runs again.
        wanted = manager.overwrite or manager.overwrite_stages or any(
            getattr(r.args, "overwrite", False) for r in records)
        return "overwrite" if spec.is_aggregate and wanted else None
    if manager.overwrite or getattr(record.args, "overwrite", False):
        return "overwrite"
    if spec.name in manager.overwrite_stages:
        return "overwrite"
    if spec.is_aggregate:
        for other in records:
            if other.forced:
                return f"input record {other.name!r} was overwritten"
        return None
    for name in spec.inputs:
        if name in record.forced:
            return f"input {name} was overwritten"
    return None


def call(spec: StageSpec, record: Record, records: list[Record] | None, args: tuple, kwargs: dict) -> Record:
    """One call of a stage on `record` (and, for an aggregate, `records`); returns the record.

    Raises:
        StageError: `record` is not a Record, or an input is missing from its state.
        OutputSignatureError: the function returned the wrong number of values.
    """
    if not isinstance(record, Record):
        raise StageError(
            f"stage {spec.name!r} was called with a {type(record).__name__}; pass a Record first,"
            f" e.g. {spec.name}(Record(manager, params))"
        )
    manager = record.manager
    if manager.stage_active:
        logger.warning("stage %r was called from inside stage %r; call stages from the experiment's run()",
                       spec.name, manager.current_stage_name)
    if spec.is_aggregate and manager.parallel_mode:
        # Workers only fill the cache; the parent computes each aggregate once.
        record.stages.append(spec.name)
        for name in spec.output_names:
            record.state[name] = MAPPED
        record.stage_status[spec.name] = "skipped"
        return record
    if spec.is_aggregate:
        if records is None:
            records = [r for r in manager.records if r is not record]
        record.set_aggregate(list(records))
    inputs_of = list(records) if spec.is_aggregate and records is not None else []
    record.stages.append(spec.name)
    record.stage_inputs.append(list(spec.inputs))
    record.stage_outputs.append(list(spec.output_names))
    input_keys = _input_keys(spec, record, inputs_of)
    record_hash = record.get_hash()
    key = digest(manager.cache_prefix, record_hash, spec.name, spec.code,
                 *(f"{name}={value}" for name, value in sorted(input_keys.items())))
    forced = _force_reason(spec, record, inputs_of)
    cacheable = spec.cacheable(manager)
    if manager.map_mode:
        _map(spec, record, key, input_keys, forced, cacheable)
        return record
    node = manager.plan.get(record.index, spec.name, key) if manager.plan is not None else None
    row = None
    if node is not None:
        action, row = node.action, node.row
        if action == planning.CACHED and row is None:
            action = planning.RUN
    elif forced is None and cacheable:
        row = manager.cache.lookup(key)
        action = planning.CACHED if row is not None else planning.RUN
    else:
        action = planning.RUN
    if action == planning.SKIPPED:
        _place(spec, record, key, row, load=False)
        record.stage_status[spec.name] = "skipped"
    elif action == planning.CACHED:
        started = time.perf_counter()
        _place(spec, record, key, row, load=True)
        record.stage_status[spec.name] = "cached"
        record.stage_timings[spec.name] = time.perf_counter() - started
    else:
        _run(spec, record, inputs_of, key, input_keys, forced, cacheable, args, kwargs)
    manager.calls.append((record, spec.name, key))
    if manager.on_stage_done is not None:
        manager.on_stage_done(record, spec.name)
    return record


def _map(spec: StageSpec, record: Record, key: str, input_keys: dict[str, str], forced: str | None,
         cacheable: bool) -> None:
    manager = record.manager
    node = planning.PlanNode(record.index, spec.name, key, inputs=sorted(set(input_keys.values())),
                             outputs=[f"{key}/{name}" for name in spec.output_names])
    if forced is not None:
        node.reason = forced
    elif not cacheable:
        node.reason = "no cacher" if spec.outputs else "no outputs"
    else:
        # Looked up only if the plan needs to know: a stage whose outputs nothing
        # that runs will read is skipped without a lookup.
        record_hash = record.get_hash()

        def check() -> bool:
            row = manager.cache.lookup(key)
            if row is None:
                if manager.explain:
                    node.reason = _miss_reason(manager, record_hash, spec.name, spec.code, input_keys)
                return False
            node.row = row
            node.bundle = next(iter(row.outputs.values()), {}).get("bundle")
            return True

        node.check = check
    manager.plan_nodes.append(node)
    for name in spec.output_names:
        record.state[name] = MAPPED
        record.state_keys[name] = f"{key}/{name}"
        if forced is not None:
            record.forced.add(name)
        else:
            record.forced.discard(name)


def _miss_reason(manager: Any, record_hash: str, stage_name: str, code: str, input_keys: dict[str, str]) -> str:
    previous = manager.cache.latest(record_hash, stage_name)
    if previous is None:
        return "no cache"
    if previous.code != code:
        return "code changed"
    for name in sorted(set(input_keys) | set(previous.inputs)):
        if input_keys.get(name) != previous.inputs.get(name):
            return f"input {name.rsplit('/', 1)[-1]} changed"
    return "cache files missing or changed"


def _reportables_path(record: Record, stage_name: str, key: str) -> str:
    # The key is in the name: a file of another version of the stage is never read.
    return record.manager.get_artifact_path(f"reportables_{key[:16]}.pkl", record, stage_name=stage_name)


def _save_reportables(record: Record, stage_name: str, key: str, reportables: list[Any]) -> str | None:
    """Pickle what a stage reported, so a cached run's report shows it too; returns the file."""
    if not reportables:
        return None
    import copy
    import pickle

    from tether.experiments.caching import PickleCacher

    detached = []
    for reportable in reportables:
        clone = copy.copy(reportable)
        clone.record = None
        detached.append(clone)
    path = _reportables_path(record, stage_name, key)
    try:
        return PickleCacher(path).save(detached)[0]
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        logger.warning("stage %r: its reportables cannot be cached (%s); a cached run will not show them",
                       stage_name, exc)
        return None


def _load_reportables(record: Record, stage_name: str, key: str) -> None:
    path = _reportables_path(record, stage_name, key)
    if not os.path.exists(path):
        return
    from tether.experiments.caching import PickleCacher
    from tether.experiments.errors import CachingError

    try:
        reportables = PickleCacher(path).load()
    except (CachingError, AttributeError, ImportError) as exc:
        logger.warning("stage %r: its cached reportables cannot be read (%s)", stage_name, exc)
        return
    for reportable in reportables:
        reportable.record = record
        reportable.stage = stage_name
        record.manager.reportables.append(reportable)


def _place(spec: StageSpec, record: Record, key: str, row: Any, *, load: bool) -> None:
    """Put a cached (or skipped) stage's outputs in the state: loaded, or lazily."""
    manager = record.manager
    _load_reportables(record, spec.name, key)

    for index, name in enumerate(spec.output_names):
        cacher = spec.cacher_for(index, manager)
        lazy = Lazy(name)
        if cacher is not None:
            cacher.record, cacher.name, cacher.stage = record, name, spec.name
            lazy.cacher = cacher
        if isinstance(spec.outputs[index], Lazy):
            lazy.resolve = spec.outputs[index].resolve
        value: Any = lazy
        if load and not spec.is_lazy(index, manager) and cacher is not None:
            value = cacher.load()
        record.state[name] = value
        record.state_keys[name] = f"{key}/{name}"
        record.forced.discard(name)
        bundle = row.outputs.get(name, {}).get("bundle") if row is not None else None
        record.state_bundles[name] = bundle
        if load:
            manager.artifacts.append(ArtifactRepresentation(
                record, spec.name, name, key, bundle_uuid=bundle,
                path=cacher.get_path() if cacher is not None else None,
                type_name=type(value).__name__, cached=True, preview=preview_of(value),
            ))


def _run(spec: StageSpec, record: Record, records: list[Record], key: str, input_keys: dict[str, str],
         forced: str | None, cacheable: bool, args: tuple, kwargs: dict) -> None:
    manager = record.manager
    if spec.is_aggregate:
        call_kwargs = {name: {r: r.state[name] for r in records if name in r.state} for name in spec.inputs}
        call_args: tuple = (record, records, *args)
    else:
        call_kwargs = {name: record.state[name] if name in record.state else None for name in spec.inputs}
        call_args = (record, *args)
    call_kwargs.update(kwargs)
    manager.current_stage_name = spec.name
    manager.stage_active = True
    reported_before = len(manager.reportables)
    wall = time.time()
    started = time.perf_counter()
    try:
        result = spec.func(*call_args, **call_kwargs)
    except BaseException:
        record.stage_status[spec.name] = "failed"
        record.stage_timings[spec.name] = time.perf_counter() - started
        manager.stage_active = False
        raise
    manager.stage_active = False
    count = len(spec.outputs)
    if count == 0:
        values: list[Any] = []
    elif count == 1:
        values = [result]
    elif isinstance(result, tuple | list) and len(result) == count:
        values = list(result)
    else:
        got = len(result) if isinstance(result, tuple | list) else 1
        record.stage_status[spec.name] = "failed"
        raise OutputSignatureError(
            f"stage {spec.name!r} returned {got} value(s) but declares {count} output(s)"
            f" {spec.output_names}; return a tuple of {count} values"
        )
    saving = not (manager.dry or manager.dry_cache)
    files: dict[str, list[str]] = {}
    known: dict[str, tuple[int, int, str]] = {}
    types: dict[str, str] = {}
    for index, (name, value) in enumerate(zip(spec.output_names, values)):
        cacher = spec.cacher_for(index, manager)
        path = None
        if cacher is not None:
            cacher.record, cacher.name, cacher.stage = record, name, spec.name
            if saving:
                files[name] = list(cacher.save(value))
                known.update(getattr(cacher, "written", None) or {})
                path = files[name][0] if files[name] else None
        stored: Any = value
        if cacher is not None and spec.is_lazy(index, manager):
            stored = Lazy(name, resolve=getattr(spec.outputs[index], "resolve", True))
            stored.cacher = cacher
            if not saving:
                stored = value
        record.state[name] = stored
        record.state_keys[name] = f"{key}/{name}"
        record.state_bundles[name] = None
        if forced is not None:
            record.forced.add(name)
        else:
            record.forced.discard(name)
        types[name] = type(value).__name__
        manager.artifacts.append(ArtifactRepresentation(
            record, spec.name, name, key, path=path, type_name=types[name], cached=False,
            preview=preview_of(value),
        ))
    record.output = result
    extra = record.tracked_paths.pop(spec.name, [])
    if saving and cacheable and files:
        reported = [r for r in manager.reportables[reported_before:] if r.record is record]
        stored_reportables = _save_reportables(record, spec.name, key, reported)
        if stored_reportables:
            extra.append(stored_reportables)
    if extra and files:
        first = next(iter(files))
        files[first] += [p for p in extra if p not in files[first]]
    manager.stage_files.extend(extra)
    record.stage_status[spec.name] = "ran"
    record.stage_timings[spec.name] = time.perf_counter() - started
    if saving and cacheable:
        dependencies = {}
        sources = records if spec.is_aggregate else [record]
        for other in sources:
            for name in (other.state if spec.is_aggregate else spec.inputs):
                bundle = other.state_bundles.get(name)
                if bundle:
                    arg = f"{other.get_hash()[:8]}.{name}" if spec.is_aggregate else name
                    dependencies[arg] = bundle
        row = CacheRow(key=key, prefix=manager.cache_prefix, record_hash=record.get_hash(), stage=spec.name,
                       code=spec.code, inputs=input_keys, run_id=manager.get_reference_name())
        pending = PendingExecution(row=row, files=files, types=types, dependencies=dependencies,
                                   git=manager.git_bundle_info(), timing=(wall, time.time()), known=known)
        manager.cache.add(pending)
        for name in files:
            record.state_bundles[name] = pending.bundles.get(name)
        for artifact in manager.artifacts[-len(values):]:
            artifact.bundle_uuid = pending.bundles.get(artifact.name)
