"""`@stage` and `@aggregate`: functions of a record whose outputs are cached by what made them.

    @stage(inputs=["data"], outputs=["model"], cachers=[PickleCacher])
    def train(record, data):
        return fit(data, record.args.lr)

    record = train(load(Record(manager, params)))

A stage's cache key is a digest of the cache prefix, the record's hash, the
stage's name, the fingerprint of its code, inputs, outputs and cachers, and
the keys of the artifacts it reads. Change the code, a parameter or anything
upstream and exactly the stages that depend on it compute again.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from tether.experiments.caching import Cacheable, PickleCacher
from tether.experiments.errors import InputSignatureError, StageError
from tether.experiments.execution import call
from tether.experiments.hashing import code_fingerprint, digest
from tether.experiments.lazy import Lazy
from tether.experiments.record import Record

__all__ = ["stage", "aggregate", "StageSpec"]

class StageSpec:
    """What a stage declares: its function, inputs, outputs and cachers."""

    def __init__(
        self,
        func: Callable[..., Any],
        inputs: Sequence[str] | None,
        outputs: Sequence[str | Lazy] | None,
        cachers: Sequence[type[Cacheable] | Cacheable | None] | None,
        *,
        is_aggregate: bool,
        suppress_missing_inputs: bool = False,
    ) -> None:
        self.func = func
        self.name = func.__name__
        self.inputs = list(inputs or [])
        self.outputs = list(outputs or [])
        self.is_aggregate = is_aggregate
        self.suppress_missing_inputs = suppress_missing_inputs
        if cachers is not None and len(cachers) != len(self.outputs):
            raise StageError(
                f"stage {self.name!r} declares {len(self.outputs)} output(s) but {len(cachers)} cacher(s);"
                " give one cacher (or None) per output"
            )
        self.cachers = list(cachers) if cachers is not None else [None] * len(self.outputs)
        self.output_names = [str(o) for o in self.outputs]
        self._check_signature()
        self._code: str | None = None
        self._cacheable: dict[tuple[bool, bool], bool] = {}

    def _check_signature(self) -> None:
        try:
            parameters = inspect.signature(self.func).parameters
        except (TypeError, ValueError):
            return
        kinds = [p.kind for p in parameters.values()]
        if inspect.Parameter.VAR_KEYWORD in kinds:
            return
        positional = [p for p in parameters.values() if p.kind != inspect.Parameter.VAR_POSITIONAL]
        needed = 2 if self.is_aggregate else 1
        if len(positional) < needed:
            shape = "(record, records, ...)" if self.is_aggregate else "(record, ...)"
            raise InputSignatureError(f"stage {self.name!r} must take {shape} as its first parameter(s)")
        names = set(parameters)
        missing = [name for name in self.inputs if name not in names]
        if missing:
            raise InputSignatureError(
                f"stage {self.name!r} declares input(s) {', '.join(map(repr, missing))} that its function"
                f" does not take; add them as parameters of {self.name}()"
            )

    @property
    def code(self) -> str:
        """The fingerprint of the stage's code, declarations and cachers (computed once)."""
        if self._code is None:
            cachers = []
            for cacher in self.cachers:
                kind = cacher if isinstance(cacher, type) or cacher is None else type(cacher)
                name = "none" if kind is None else f"{kind.__module__}.{kind.__qualname__}"
                own = "" if kind is None or kind.__module__.startswith("tether.") else code_fingerprint(kind)
                cachers.append(f"{name}:{own}")
            self._code = digest(
                code_fingerprint(self.func), "aggregate" if self.is_aggregate else "stage",
                repr(self.inputs), repr(self.output_names), repr(cachers),
            )
        return self._code

    def cacher_for(self, index: int, manager: Any) -> Cacheable | None:
        """A fresh cacher for output `index` (a PickleCacher for lazy outputs without one)."""
        template = self.cachers[index]
        if template is None and (manager.lazy or isinstance(self.outputs[index], Lazy)) and not manager.ignore_lazy:
            template = PickleCacher
        if template is None:
            return None
        if isinstance(template, type):
            return template()
        import copy

        return copy.copy(template)

    def cacheable(self, manager: Any) -> bool:
        """Whether every output has a cacher, so a call can be read from the cache."""
        flags = (bool(manager.lazy), bool(manager.ignore_lazy))
        known = self._cacheable.get(flags)
        if known is None:
            lazy, ignore_lazy = flags
            known = self._cacheable[flags] = bool(self.outputs) and all(
                template is not None or (lazy and not ignore_lazy) or (isinstance(output, Lazy) and not ignore_lazy)
                for template, output in zip(self.cachers, self.outputs)
            )
        return known

    def is_lazy(self, index: int, manager: Any) -> bool:
        """Whether output `index` is kept on disk rather than in memory."""
        if manager.ignore_lazy:
            return False
        return manager.lazy or isinstance(self.outputs[index], Lazy)


def stage(
    inputs: Sequence[str] | None = None,
    outputs: Sequence[str | Lazy] | None = None,
    cachers: Sequence[type[Cacheable] | Cacheable | None] | None = None,
    suppress_missing_inputs: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Record]]:
    """Make `func(record, *inputs)` a stage: inputs from the record's state, outputs into it.

    Args:
        inputs: names of state entries passed as keyword arguments.
        outputs: names (or `Lazy(name)`) given to the returned values.
        cachers: a cacher class or instance (or None) per output; a stage is
            read from the cache only when every output has a cacher.
        suppress_missing_inputs: pass None for inputs missing from the state
            instead of failing.

    Raises:
        InputSignatureError: an input is not a parameter of the function.
        StageError: the numbers of outputs and cachers differ.
    """

    def decorator(func: Callable[..., Any]) -> Callable[..., Record]:
        spec = StageSpec(func, inputs, outputs, cachers, is_aggregate=False,
                         suppress_missing_inputs=suppress_missing_inputs)

        @functools.wraps(func)
        def wrapper(record: Record, *args: Any, **kwargs: Any) -> Record:
            return call(spec, record, None, args, kwargs)

        wrapper.stage_spec = spec  # type: ignore[attr-defined]
        return wrapper

    return decorator


def aggregate(
    inputs: Sequence[str] | None = None,
    outputs: Sequence[str | Lazy] | None = None,
    cachers: Sequence[type[Cacheable] | Cacheable | None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Record]]:
    """Make `func(record, records, *inputs)` a stage over many records.

    Call it as `agg(Record(manager, None), records)`; `records=None` means every
    other record of the manager. Each input is passed as a dict of record to
    that record's value, for the records whose state has it. The aggregate's
    hash combines its records' hashes, and its cache key the keys of their state.
    """

    def decorator(func: Callable[..., Any]) -> Callable[..., Record]:
        spec = StageSpec(func, inputs, outputs, cachers, is_aggregate=True)

        @functools.wraps(func)
        def wrapper(record: Record, records: list[Record] | None = None, *args: Any, **kwargs: Any) -> Record:
            return call(spec, record, records, args, kwargs)

        wrapper.stage_spec = spec  # type: ignore[attr-defined]
        return wrapper

    return decorator
