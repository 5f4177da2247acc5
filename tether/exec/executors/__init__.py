"""Executors decide how a DAG's tasks run; choose one with EXECUTOR_BACKEND or --executor."""

from __future__ import annotations

from typing import Any

from tether.exceptions import ImproperlyConfigured
from tether.exec.executors.base import BaseExecutor
from tether.exec.executors.local import LocalExecutor
from tether.utils import import_string

__all__ = ["BaseExecutor", "DaskExecutor", "LocalExecutor", "ProcessExecutor", "get_executor"]

_SHORT_NAMES = {
    "local": "tether.exec.executors.LocalExecutor",
    "process": "tether.exec.executors.ProcessExecutor",
    "dask": "tether.exec.executors.dask.DaskExecutor",
}


def __getattr__(name: str) -> Any:
    # Imported only when asked for: dask.distributed is an optional extra, and the
    # process pool's multiprocessing would slow every run's start.
    if name == "DaskExecutor":
        from tether.exec.executors.dask import DaskExecutor

        return DaskExecutor
    if name == "ProcessExecutor":
        from tether.exec.executors.process import ProcessExecutor

        return ProcessExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_executor(name: str, **options: Any) -> BaseExecutor:
    """Build the executor `name`: a short name (`local`) or a dotted path.

    Raises:
        ImproperlyConfigured: the name does not resolve to a BaseExecutor subclass.
    """
    path = _SHORT_NAMES.get(name, name)
    if "." not in path:
        raise ImproperlyConfigured(
            f"unknown executor {name!r}; give local, process, dask or a dotted path to a BaseExecutor subclass"
        )
    executor_class = import_string(path, "EXECUTOR_BACKEND")
    if not (isinstance(executor_class, type) and issubclass(executor_class, BaseExecutor)):
        raise ImproperlyConfigured(
            f"executor {name!r} is not a subclass of tether.exec.executors.BaseExecutor"
        )
    return executor_class(**options)
