"""Settings of the installation and the Context of the run in progress."""

from __future__ import annotations

from typing import Any

from tether.conf.context import BaseContextManager, Context, current_context
from tether.conf.settings import LazySettings, settings
from tether.utils import LazyProxy, import_string

__all__ = [
    "settings",
    "default_settings",
    "default_context",
    "default_context_manager",
    "Context",
    "LazySettings",
]

default_settings = settings


def _make_context_manager() -> BaseContextManager:
    manager_class = import_string(settings.CONTEXT_BACKEND, "CONTEXT_BACKEND")
    return manager_class(config_path=settings.CONFIG_PATH)


default_context_manager: BaseContextManager = LazyProxy(  # type: ignore[assignment]
    _make_context_manager, lambda: settings.generation
)


class _DefaultContext:
    """The Context of the run in progress.

    Outside a run (a notebook, a script) it is a context built from CONFIG_PATH
    with a fresh run id, kept until settings change.
    """

    __slots__ = ("_ambient", "_generation")

    def __init__(self) -> None:
        object.__setattr__(self, "_ambient", None)
        object.__setattr__(self, "_generation", None)

    def _resolve(self) -> Context:
        context = current_context()
        if context is not None:
            return context
        if self._ambient is None or self._generation != settings.generation:
            object.__setattr__(self, "_ambient", default_context_manager.create_context())
            object.__setattr__(self, "_generation", settings.generation)
        return self._ambient

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resolve(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._resolve(), name, value)

    def __getitem__(self, key: str) -> Any:
        return self._resolve()[key]

    def __iter__(self) -> Any:
        return iter(self._resolve())

    def __contains__(self, key: str) -> bool:
        return key in self._resolve()

    def __len__(self) -> int:
        return len(self._resolve())

    def __dir__(self) -> list[str]:
        return dir(self._resolve())

    def __repr__(self) -> str:
        return repr(self._resolve())


default_context: Context = _DefaultContext()  # type: ignore[assignment]
