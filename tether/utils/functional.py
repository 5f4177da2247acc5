"""A proxy that builds its target on first use and again whenever a version changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class LazyProxy:
    """Forward attribute access to `factory()`, rebuilt when `version()` changes.

    `version` is typically the settings generation, so a proxy such as
    `default_storage` follows `override_settings` without a registry to reset.
    """

    __slots__ = ("_factory", "_version", "_target", "_built_for")

    def __init__(self, factory: Callable[[], Any], version: Callable[[], Any] = lambda: None) -> None:
        object.__setattr__(self, "_factory", factory)
        object.__setattr__(self, "_version", version)
        object.__setattr__(self, "_target", None)
        object.__setattr__(self, "_built_for", object())

    def _resolve(self) -> Any:
        version = self._version()
        if self._built_for != version or self._target is None:
            object.__setattr__(self, "_target", self._factory())
            object.__setattr__(self, "_built_for", version)
        return self._target

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resolve(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._resolve(), name, value)

    def __dir__(self) -> list[str]:
        return dir(self._resolve())

    def __repr__(self) -> str:
        return f"<lazy {self._resolve()!r}>"

    def __getitem__(self, key: Any) -> Any:
        return self._resolve()[key]

    def __iter__(self) -> Any:
        return iter(self._resolve())

    def __len__(self) -> int:
        return len(self._resolve())

    def __contains__(self, key: Any) -> bool:
        return key in self._resolve()

    def __eq__(self, other: object) -> bool:
        return self._resolve() == other

    def __hash__(self) -> int:
        return hash(self._resolve())
