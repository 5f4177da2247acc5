"""The run Context: the parameters of one run, merged from YAML, frozen once built.

Sources, later ones winning: every `*.yaml` / `*.yml` of CONFIG_PATH in sorted
file-name order, patch files (`--patch`, `--local-patch`), `--set key=value`
pairs, then the protected `meta` section (run_id, run_folder, created_at).
Dicts merge recursively, lists replace, and a mapping meeting a non-mapping is
an error naming the key.
"""

from __future__ import annotations

import contextvars
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import yaml

from tether.exceptions import ContextError

META = "meta"
# The seed documents read run metadata as `default_context.gluepy.run_folder`;
# `default_context.tether` is the same section as `meta`.
META_ALIAS = "tether"
RUNS_DIR = "runs"


class FrozenList(list):
    """A list that refuses to change, so a frozen Context stays frozen."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ContextError(_FROZEN)

    append = extend = insert = pop = remove = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse  # type: ignore[assignment]


_FROZEN = (
    "the run context is frozen; change parameters in the YAML files, a --patch file"
    " or with --set key=value"
)


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return Context(value)
    if isinstance(value, list | tuple):
        return FrozenList(_freeze(item) for item in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Context):
        return {key: _thaw(item) for key, item in value._data.items()}
    if isinstance(value, list):
        return [_thaw(item) for item in value]
    return value


class Context(Mapping[str, Any]):
    """Read-only parameters with attribute access: `ctx.forecaster.start_date`."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        frozen = {str(key): _freeze(value) for key, value in (data or {}).items()}
        object.__setattr__(self, "_data", frozen)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            if name == META_ALIAS and META in self._data:
                return self._data[META]
            if name.startswith("__"):
                raise AttributeError(name) from None
            raise AttributeError(
                f"the run context has no key {name!r}; add it to a YAML file in"
                " CONFIG_PATH or pass --set"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise ContextError(_FROZEN)

    __delattr__ = __setattr__

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Context({self.to_dict()!r})"

    def __dir__(self) -> list[str]:
        return sorted(set(self._data) | {"to_dict", "to_yaml", "get"})

    def __reduce__(self) -> tuple[Any, ...]:
        return (Context, (self.to_dict(),))

    def to_dict(self) -> dict[str, Any]:
        """A plain, mutable copy: dicts and lists all the way down."""
        return _thaw(self)

    def to_yaml(self) -> str:
        """The context as YAML, in the form written to `context.yaml`."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def load_yaml(text: str | bytes, source: str) -> dict[str, Any]:
    """Parse one YAML document into a mapping.

    Raises:
        ContextError: the YAML is malformed (naming file and line) or is not a mapping.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ContextError(f"{where}: malformed YAML ({problem}); fix the file and run again") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ContextError(
            f"{source}: the top level must be a mapping of keys, not {type(data).__name__}"
        )
    return data


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return "a value"


def merge(base: Mapping[str, Any], patch: Mapping[str, Any], source: str, _path: str = "") -> dict[str, Any]:
    """Merge `patch` into a copy of `base`: dicts recursively, everything else replaced.

    Raises:
        ContextError: a key is a mapping on one side and not on the other, or a
            list on one side and a single value on the other.
    """
    merged = dict(base)
    for key, value in patch.items():
        key = str(key)
        path = f"{_path}.{key}" if _path else key
        old = merged.get(key)
        old_kind, new_kind = _kind(old), _kind(value)
        if old_kind and new_kind and old_kind != new_kind:
            raise ContextError(
                f"context key {path!r}: {source} gives {new_kind} where earlier"
                f" configuration has {old_kind}; make the types agree"
            )
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = merge(old, value, source, path)
        else:
            merged[key] = value
    return merged


def parse_set(assignment: str) -> dict[str, Any]:
    """Turn `a.b=VALUE` into `{"a": {"b": VALUE}}`, VALUE typed as YAML.

    Raises:
        ContextError: there is no `=`, a key part is empty, or VALUE is malformed YAML.
    """
    key, sep, raw = assignment.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(part.strip() for part in parts):
        raise ContextError(
            f"--set {assignment!r} is malformed; write --set section.key=value"
        )
    if parts[0] in (META, META_ALIAS):
        raise ContextError(
            f"--set {assignment!r}: the {META} section is set by tether; use --retry"
            " RUN_FOLDER to reuse a run id and folder"
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ContextError(
            f"--set {assignment!r}: the value is not valid YAML; quote it, e.g."
            f" --set '{key}=\"...\"'"
        ) from exc
    for part in reversed(parts):
        value = {part.strip(): value}
    return value


@dataclass(frozen=True)
class Patch:
    """Parameters laid over the configuration: `data` was read from `source`."""

    source: str
    data: Mapping[str, Any]

    @classmethod
    def from_yaml(cls, text: str | bytes, source: str) -> Patch:
        """A patch parsed from YAML text; `source` names it in errors."""
        return cls(source, load_yaml(text, source))


def run_folder_for(run_id: str, created_at: datetime) -> str:
    """`runs/YYYY/MM/DD/<run_id>`, dated in UTC, relative to STORAGE_ROOT."""
    day = created_at.astimezone(timezone.utc)
    return f"{RUNS_DIR}/{day:%Y}/{day:%m}/{day:%d}/{run_id}"


class BaseContextManager:
    """Builds run Contexts. A CONTEXT_BACKEND subclasses this and may override any step."""

    def __init__(self, config_path: str | None = None) -> None:
        self.config_path = config_path

    def config_files(self) -> list[str]:
        """The YAML files of CONFIG_PATH, in the sorted order they are merged."""
        if not self.config_path or not os.path.isdir(self.config_path):
            return []
        names = sorted(
            name for name in os.listdir(self.config_path)
            if name.endswith((".yaml", ".yml")) and not name.startswith(".")
        )
        return [os.path.join(self.config_path, name) for name in names]

    def load_config(self) -> dict[str, Any]:
        """The merged configuration of CONFIG_PATH."""
        config: dict[str, Any] = {}
        for path in self.config_files():
            with open(path, "rb") as handle:
                config = merge(config, load_yaml(handle.read(), path), path)
        return config

    def new_run_id(self) -> str:
        """A fresh run id (a uuid4); override for another scheme."""
        return str(uuid.uuid4())

    def create_context(
        self,
        *,
        run_id: str | None = None,
        run_folder: str | None = None,
        created_at: datetime | None = None,
        patches: Sequence[Patch] = (),
        sets: Iterable[str] = (),
        base: Mapping[str, Any] | None = None,
    ) -> Context:
        """Build a frozen Context.

        Args:
            run_id: the run's id; a new one if None.
            run_folder: the run folder relative to STORAGE_ROOT; derived if None.
            created_at: when the run was created; now if None.
            patches: parameter files laid over the configuration, in order.
            sets: `a.b=VALUE` assignments laid over the patches.
            base: a previous run's context to start from instead of CONFIG_PATH
                (a retry); its `meta` is kept unless run_id or run_folder is given.
        """
        data = dict(base) if base is not None else self.load_config()
        previous_meta = data.pop(META, None) or {}
        for patch in patches:
            data = merge(data, patch.data, patch.source)
        for assignment in sets:
            data = merge(data, parse_set(assignment), f"--set {assignment}")
        meta = self.make_meta(run_id, run_folder, created_at, previous_meta if base is not None else {})
        data[META] = meta
        return Context(data)

    def make_meta(
        self,
        run_id: str | None,
        run_folder: str | None,
        created_at: datetime | None,
        previous: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The protected `meta` section."""
        run_id = run_id or previous.get("run_id") or self.new_run_id()
        created = created_at or previous.get("created_at") or datetime.now(timezone.utc)
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        folder = run_folder or previous.get("run_folder") or run_folder_for(run_id, created)
        return {"run_id": str(run_id), "run_folder": str(folder).strip("/"), "created_at": created}


class DefaultContextManager(BaseContextManager):
    """The default CONTEXT_BACKEND: YAML files of CONFIG_PATH and a uuid4 run id."""


# --- the context in force ------------------------------------------------------------

# A run activates its context here. The ContextVar serves concurrent runs in one
# process; the plain global serves threads a task starts, which begin with an
# empty contextvars context.
_current: contextvars.ContextVar[Context | None] = contextvars.ContextVar("tether_context", default=None)
_process_current: list[Context] = []


def activate(context: Context) -> contextvars.Token[Context | None]:
    """Make `context` the one `default_context` answers with, until `deactivate`."""
    _process_current.append(context)
    return _current.set(context)


def deactivate(token: contextvars.Token[Context | None]) -> None:
    """Undo the matching `activate`."""
    context = _current.get()
    _current.reset(token)
    for index in range(len(_process_current) - 1, -1, -1):
        if _process_current[index] is context:
            del _process_current[index]
            break


def current_context() -> Context | None:
    """The context of the run in progress, if any."""
    context = _current.get()
    if context is None and _process_current:
        context = _process_current[-1]
    return context


MASK = "********"


def mask_secrets(data: Any, secret_keys: Iterable[str]) -> Any:
    """A copy of `data` whose values under secret-looking keys are replaced by a mask.

    A key is secret when it contains one of `secret_keys` (SECRET_KEYS),
    compared case-insensitively.
    """
    needles = [needle.lower() for needle in secret_keys]
    if isinstance(data, Mapping):
        return {
            key: MASK if any(n in str(key).lower() for n in needles) and value is not None
            else mask_secrets(value, needles)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [mask_secrets(item, needles) for item in data]
    return data
