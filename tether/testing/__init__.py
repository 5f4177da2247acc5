"""Helpers for testing tether projects and storages.

`override_settings` here; pytest fixtures in `tether.testing.fixtures` (a
pytest plugin: isolated settings, memory storage, S3 and GCS servers on
127.0.0.1); the storage conformance suite in `tether.testing.storage`; the
servers themselves in `tether.testing.servers`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from tether.conf import settings

__all__ = ["override_settings"]

F = TypeVar("F", bound=Callable[..., Any])


class override_settings:  # noqa: N801 - named like Django's, used as a decorator
    """Lay settings over the current ones, as a `with` block or a function decorator.

    Example:
        with override_settings(STORAGE_ROOT="memory://t"):
            ...

        @override_settings(ALLOW_PICKLE=True)
        def test_pickle(): ...
    """

    def __init__(self, **overrides: Any) -> None:
        self.overrides = overrides
        self._active: list[Any] = []

    def __enter__(self) -> Any:
        override = settings.override(**self.overrides)
        self._active.append(override)
        return override.__enter__()

    def __exit__(self, *exc_info: object) -> None:
        self._active.pop().__exit__(*exc_info)

    def __call__(self, function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with settings.override(**self.overrides):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
