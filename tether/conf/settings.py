"""Lazy, layered settings: the module named by TETHER_SETTINGS_MODULE over the defaults."""

from __future__ import annotations

import copy
import importlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from tether.conf import global_settings
from tether.exceptions import ImproperlyConfigured

ENVIRONMENT_VARIABLE = "TETHER_SETTINGS_MODULE"

_NOT_CONFIGURED = (
    "settings are not configured: set the environment variable TETHER_SETTINGS_MODULE"
    " (e.g. configs.settings), run inside a project made by `tether startproject`,"
    " or call tether.conf.settings.configure()"
)


def _upper_names(module: Any) -> dict[str, Any]:
    return {name: getattr(module, name) for name in dir(module) if name.isupper()}


def _derive(values: dict[str, Any]) -> None:
    """Fill the defaults that depend on other settings (documented in global_settings)."""
    base = values.get("BASE_DIR") or os.getcwd()
    values["BASE_DIR"] = os.fspath(base)
    if values.get("CONFIG_PATH") is None:
        values["CONFIG_PATH"] = os.path.join(values["BASE_DIR"], "configs")
    if values.get("STORAGE_ROOT") is None:
        values["STORAGE_ROOT"] = os.path.join(values["BASE_DIR"], "data")
    if values.get("CATALOG_URL") is None:
        path = os.path.join(values["BASE_DIR"], ".tether", "catalog.sqlite3")
        values["CATALOG_URL"] = f"sqlite:///{path}"
    if values.get("REPORTS_PATH") is None:
        values["REPORTS_PATH"] = os.path.join(values["BASE_DIR"], "reports")


class Settings(Mapping[str, Any]):
    """One resolved set of settings; read-only attribute and mapping access."""

    def __init__(self, values: Mapping[str, Any], module: str | None = None) -> None:
        for name in values:
            if not name.isupper():
                raise ImproperlyConfigured(
                    f"setting {name!r} is not upper case; tether reads only upper-case names"
                )
        merged = _upper_names(global_settings)
        merged.update(values)
        _derive(merged)
        object.__setattr__(self, "_raw", dict(values))
        object.__setattr__(self, "_values", merged)
        object.__setattr__(self, "SETTINGS_MODULE", module)

    @classmethod
    def from_module(cls, module_path: str) -> Settings:
        """Load the settings module `module_path` over the defaults."""
        try:
            module = importlib.import_module(module_path)
        except ModuleNotFoundError as exc:
            if exc.name and module_path.startswith(exc.name):
                raise ImproperlyConfigured(
                    f"settings module {module_path!r} (from {ENVIRONMENT_VARIABLE}) was not"
                    " found; set it to an importable module such as configs.settings,"
                    " from the project's root folder"
                ) from exc
            raise ImproperlyConfigured(
                f"settings module {module_path!r} imports {exc.name!r}, which is not"
                f" installed; install it or remove the import"
            ) from exc
        except Exception as exc:
            raise ImproperlyConfigured(
                f"settings module {module_path!r} failed to import:"
                f" {type(exc).__name__}: {exc}; fix the module and run again"
            ) from exc
        return cls(_upper_names(module), module=module_path)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"no setting {name!r}; define it in your settings module"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            "settings are read-only once loaded; use settings.configure() before first"
            " use, or tether.testing.override_settings"
        )

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """A copy of these settings with `overrides` laid on top, derived values recomputed."""
        return Settings({**self._raw, **overrides}, module=self.SETTINGS_MODULE)


class LazySettings:
    """The project's settings, loaded on first access.

    `generation` changes whenever the settings do (configure, override), so that
    objects built from settings (storage, registries) know to rebuild.
    """

    def __init__(self) -> None:
        self._stack: list[Settings] = []
        self.generation = 0

    @property
    def configured(self) -> bool:
        """Whether settings have been loaded or configured."""
        return bool(self._stack)

    def _setup(self) -> Settings:
        module = os.environ.get(ENVIRONMENT_VARIABLE)
        if not module:
            raise ImproperlyConfigured(_NOT_CONFIGURED)
        self._push(Settings.from_module(module))
        return self._stack[-1]

    def _push(self, settings: Settings) -> None:
        self._stack.append(settings)
        self.generation += 1

    def _pop(self) -> None:
        self._stack.pop()
        self.generation += 1

    @property
    def wrapped(self) -> Settings:
        """The resolved `Settings` in force now."""
        return self._stack[-1] if self._stack else self._setup()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.wrapped, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.isupper():
            raise AttributeError(
                f"cannot assign settings.{name}; use settings.configure() before first"
                " use, or tether.testing.override_settings"
            )
        object.__setattr__(self, name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(object.__dir__(self)) | set(self.wrapped))

    def configure_logging(self) -> None:
        """Apply LOGGING through LOGGING_CONFIG, once for each version of the settings."""
        if getattr(self, "_logging_generation", None) == self.generation:
            return
        from tether.utils import import_string

        if self.LOGGING_CONFIG and self.LOGGING:
            configure = import_string(self.LOGGING_CONFIG, "LOGGING_CONFIG")
            try:
                configure(copy.deepcopy(self.LOGGING))
            except (ValueError, TypeError, AttributeError, ImportError) as exc:
                raise ImproperlyConfigured(f"LOGGING is invalid: {exc}; fix the LOGGING setting") from exc
        self._logging_generation = self.generation

    def configure(self, default_settings: Any = None, **options: Any) -> None:
        """Configure settings without a settings module, for scripts and notebooks.

        Args:
            default_settings: a module or object whose upper-case names are used
                instead of reading TETHER_SETTINGS_MODULE (optional).
            **options: settings laid over those.

        Raises:
            RuntimeError: settings were already loaded or configured.
        """
        if self._stack:
            raise RuntimeError(
                "settings are already configured; call configure() once, before any"
                " setting is read, or use tether.testing.override_settings"
            )
        values = _upper_names(default_settings) if default_settings is not None else {}
        values.update(options)
        self._push(Settings(values))

    def reset(self) -> None:
        """Forget loaded settings so the next access reads TETHER_SETTINGS_MODULE again."""
        self._stack.clear()
        self.generation += 1

    def override(self, **overrides: Any) -> _Override:
        """Lay `overrides` over the current settings for the duration of a `with` block."""
        return _Override(self, overrides)


class _Override:
    def __init__(self, lazy: LazySettings, overrides: dict[str, Any]) -> None:
        self._lazy = lazy
        self._overrides = overrides

    def __enter__(self) -> LazySettings:
        lazy = self._lazy
        base = lazy.wrapped if (lazy.configured or os.environ.get(ENVIRONMENT_VARIABLE)) else Settings({})
        lazy._push(base.with_overrides(self._overrides))
        return lazy

    def __exit__(self, *exc_info: object) -> None:
        self._lazy._pop()


settings = LazySettings()
