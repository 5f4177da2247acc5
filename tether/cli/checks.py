"""The checks behind `tether check`: each returns the problems it finds, with a fix."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from tether.exceptions import TetherError

_TYPES: dict[str, type | tuple[type, ...]] = {
    "INSTALLED_MODULES": (list, tuple),
    "STORAGE_OPTIONS": dict,
    "EXECUTOR_OPTIONS": dict,
    "LOGGING": dict,
    "SECRET_KEYS": (list, tuple),
    "ALLOW_PICKLE": bool,
    "AIRFLOW_CONFIGMAPS": (list, tuple),
}

_BACKENDS = ("CONTEXT_BACKEND", "DATA_BACKEND", "MLOPS_BACKEND", "LOGGING_CONFIG")


def _check_types(settings: Any) -> list[str]:
    problems = []
    for name, expected in _TYPES.items():
        value = getattr(settings, name)
        if not isinstance(value, expected):
            kinds = expected if isinstance(expected, tuple) else (expected,)
            wanted = " or ".join(kind.__name__ for kind in kinds)
            problems.append(f"ERROR {name}: is {type(value).__name__}, expected {wanted}; fix it in your settings")
    return problems


def _check_paths(settings: Any) -> list[str]:
    problems = []
    if not os.path.isdir(settings.BASE_DIR):
        problems.append(f"ERROR BASE_DIR: {settings.BASE_DIR} is not a folder; point it at the project root")
    if not os.path.isdir(settings.CONFIG_PATH):
        problems.append(f"ERROR CONFIG_PATH: {settings.CONFIG_PATH} is not a folder; create it or fix CONFIG_PATH")
    return problems


def _check_backends(settings: Any) -> list[str]:
    from tether.utils import import_string

    problems = []
    for name in _BACKENDS + ("STORAGE_BACKEND", "START_TASK"):
        value = getattr(settings, name)
        if value is None and name in ("STORAGE_BACKEND", "START_TASK"):
            continue
        try:
            import_string(value, name)
        except TetherError as exc:
            problems.append(f"ERROR {exc}")
    from tether.exec.executors import get_executor

    try:
        get_executor(settings.EXECUTOR_BACKEND, **settings.EXECUTOR_OPTIONS)
    except TetherError as exc:
        problems.append(f"ERROR EXECUTOR_BACKEND: {exc}")
    except TypeError as exc:
        problems.append(f"ERROR EXECUTOR_OPTIONS: {exc}; fix the options")
    return problems


def _check_context(settings: Any) -> list[str]:
    from tether.conf import default_context_manager

    try:
        default_context_manager.create_context()
    except TetherError as exc:
        return [f"ERROR context: {exc}"]
    return []


def _check_dags(settings: Any) -> list[str]:
    from tether.exec.registry import discover

    try:
        discover(list(settings.INSTALLED_MODULES))
    except TetherError as exc:
        return [f"ERROR INSTALLED_MODULES: {exc}"]
    return []


def _check_storage(settings: Any) -> list[str]:
    from tether.files.storages import default_storage

    try:
        default_storage.exists("")
    except TetherError as exc:
        return [f"ERROR STORAGE_ROOT: {exc}"]
    return []


CHECKS: list[Callable[[Any], list[str]]] = [
    _check_types, _check_paths, _check_backends, _check_context, _check_dags, _check_storage,
]


def run_checks() -> list[str]:
    """Load settings and run every check; return one line per problem."""
    from tether.conf import settings

    try:
        settings.wrapped
    except TetherError as exc:
        return [f"ERROR settings: {exc}"]
    problems = _check_types(settings)
    if problems:
        return problems
    for check in CHECKS[1:]:
        problems += check(settings)
    return problems
