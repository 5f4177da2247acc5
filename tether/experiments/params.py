"""Parameter sets: `ExperimentParameters`, their stable hash, and parameter modules.

A parameter module (in the `params` package, `PARAMS_MODULE`) defines
`get_params()`, which returns a list of `ExperimentParameters`:

    @dataclass
    class Params(ExperimentParameters):
        lr: float = 0.01

    def get_params():
        return [Params(name="small", lr=0.01), Params(name="large", lr=0.1)]
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import xxhash

from tether.experiments.errors import ExperimentNotFoundError, ParametersError
from tether.experiments.hashing import update

__all__ = ["ExperimentParameters", "parameters_hash", "hash_parts", "load_parameter_sets", "IGNORED_FIELDS"]

IGNORED_FIELDS = frozenset({"name", "hash", "overwrite", "hash_representations"})


@dataclass
class ExperimentParameters:
    """The base of a parameter set: subclass it as a dataclass and add fields.

    Attributes:
        name: the set's name (not part of the hash).
        hash: the set's hash, filled when a record is made (not part of the hash).
        overwrite: recompute every stage of this set instead of reading the cache.
        hash_representations: field name to a function `(params, value) -> value`
            whose result is hashed instead of the field, or to None to leave the
            field out of the hash.
    """

    name: str = "UNNAMED"
    hash: str | None = None
    overwrite: bool = False
    hash_representations: dict[str, Callable[[Any, Any], Any] | None] = field(default_factory=dict)

    def compute_hash(self) -> str:
        """The stable hash of this set's canonical values (see `parameters_hash`)."""
        return parameters_hash(self)


def hash_parts(params: Any) -> dict[str, Any]:
    """The values the hash of `params` is made of: field name to the (represented) value.

    Fields named `name`, `hash`, `overwrite` and `hash_representations`, and
    fields mapped to None in `hash_representations`, are left out.
    """
    if not dataclasses.is_dataclass(params) or isinstance(params, type):
        raise ParametersError(
            f"a parameter set is a dataclass instance (subclass ExperimentParameters), not {type(params).__name__}"
        )
    representations = getattr(params, "hash_representations", None) or {}
    parts: dict[str, Any] = {}
    for item in dataclasses.fields(params):
        if item.name in IGNORED_FIELDS:
            continue
        value = getattr(params, item.name)
        if item.name in representations:
            represent = representations[item.name]
            if represent is None:
                continue
            value = represent(params, value)
        parts[item.name] = value
    return parts


def parameters_hash(params: Any) -> str:
    """The hash of a parameter set: a digest of its class and canonical field values.

    Values are encoded by type (`tether.experiments.hashing`): large arrays are
    hashed by every byte, so two sets never collide because a `repr` truncated
    them; nested parameter sets are hashed by their own rules.
    """
    hasher = xxhash.xxh3_128()
    hasher.update(type(params).__qualname__.encode("utf-8"))
    for name, value in hash_parts(params).items():
        hasher.update(b"\x00" + name.encode("utf-8") + b"\x00")
        if isinstance(value, ExperimentParameters):
            hasher.update(parameters_hash(value).encode("ascii"))
        else:
            update(value, hasher)
    return hasher.hexdigest()[:32]


def _params_module(name: str) -> Any:
    from tether.conf import settings

    package = settings.PARAMS_MODULE
    module_path = name if "." in name and not name.startswith(".") else f"{package}.{name}"
    try:
        return importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name and module_path.startswith(exc.name):
            raise ExperimentNotFoundError(
                f"no parameter file {name!r}: module {module_path} does not exist; create"
                f" {module_path.replace('.', '/')}.py with a get_params() function"
            ) from exc
        raise


def load_parameter_sets(
    names: Sequence[str], *, only: Sequence[str] | None = None
) -> tuple[list[Any], dict[str, list[list[str]]]]:
    """The parameter sets of the parameter modules `names`, in order.

    Args:
        names: modules of the `params` package (`PARAMS_MODULE`), or dotted paths.
        only: keep only the sets with these names (`--names`).

    Returns:
        The sets, and for each module the `[name, hash]` of the sets it gave.

    Raises:
        ExperimentNotFoundError: a module does not exist.
        ParametersError: a module has no `get_params()`, or it returned something
            other than a list of parameter sets, or `only` names no set.
    """
    sets: list[Any] = []
    by_file: dict[str, list[list[str]]] = {}
    for name in names:
        module = _params_module(name)
        get_params = getattr(module, "get_params", None)
        if not callable(get_params):
            raise ParametersError(
                f"parameter file {name!r} ({module.__name__}) has no get_params(); define"
                " get_params() returning a list of ExperimentParameters"
            )
        found = get_params()
        if isinstance(found, ExperimentParameters):
            found = [found]
        if not isinstance(found, list | tuple):
            raise ParametersError(
                f"get_params() of {name!r} returned a {type(found).__name__}; return a list of ExperimentParameters"
            )
        listed: list[list[str]] = []
        for item in found:
            if not dataclasses.is_dataclass(item) or isinstance(item, type):
                raise ParametersError(
                    f"get_params() of {name!r} returned a {type(item).__name__}; every item must be an"
                    " ExperimentParameters dataclass instance"
                )
            if only and getattr(item, "name", None) not in only:
                continue
            item.hash = parameters_hash(item)
            listed.append([str(getattr(item, "name", "")), item.hash])
            sets.append(item)
        by_file[name] = listed
    if only and not sets:
        raise ParametersError(
            f"no parameter set is named {', '.join(only)} in {', '.join(names)}; check --names"
        )
    return sets, by_file
