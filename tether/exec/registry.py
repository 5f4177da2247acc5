"""Find the DAGs of the project by scanning the modules named in INSTALLED_MODULES.

What is found belongs to a `Registry` value built from settings, never to a class
attribute that tests would have to reset.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType

from tether.conf import settings
from tether.exceptions import DAGNotFoundError, DAGError, ImproperlyConfigured
from tether.exec.dag import DAG
from tether.utils import close_matches

DAG_MODULES = ("dags", "tasks")


def import_submodule(package: str, name: str) -> ModuleType | None:
    """Import `package.name`, or return None if that module does not exist.

    Raises:
        ImproperlyConfigured: `package` itself does not import, or `package.name`
            exists but fails to import.
    """
    full = f"{package}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name == full:
            return None
        if exc.name and (package == exc.name or package.startswith(exc.name + ".")):
            raise ImproperlyConfigured(
                f"INSTALLED_MODULES names {package!r}, which does not import; check the"
                " spelling, or create it with `python manage.py startmodule`"
            ) from exc
        raise ImproperlyConfigured(
            f"{full} imports {exc.name!r}, which is not installed; install it or remove the import"
        ) from exc
    except DAGError:
        raise
    except Exception as exc:
        raise ImproperlyConfigured(
            f"{full} failed to import: {type(exc).__name__}: {exc}; fix the module"
        ) from exc


@dataclass
class Registry:
    """The project's DAGs, by label."""

    dags: dict[str, type[DAG]] = field(default_factory=dict)

    def add(self, dag: type[DAG]) -> None:
        """Register `dag` under its label.

        Raises:
            DAGError: another DAG class already has that label.
        """
        other = self.dags.setdefault(dag.label, dag)
        if other is not dag:
            raise DAGError(
                f"DAGs {other.__module__}.{other.__name__} and {dag.__module__}.{dag.__name__}"
                f" share the label {dag.label!r}; give each DAG a distinct label"
            )

    def get(self, label: str) -> type[DAG]:
        """The DAG labelled `label`.

        Raises:
            DAGNotFoundError: no DAG has that label.
        """
        try:
            return self.dags[label]
        except KeyError:
            known = ", ".join(sorted(self.dags)) or "none; add a module to INSTALLED_MODULES"
            raise DAGNotFoundError(
                f"no DAG labelled {label!r} (known DAGs: {known})." + close_matches(label, self.dags)
            ) from None


def discover(installed_modules: list[str]) -> Registry:
    """Import the `dags` and `tasks` modules of each installed module and collect DAGs."""
    registry = Registry()
    for package in installed_modules:
        if not isinstance(package, str) or not package:
            raise ImproperlyConfigured(
                f"INSTALLED_MODULES holds {package!r}; list module names as strings"
            )
        found = [import_submodule(package, name) for name in DAG_MODULES]
        if not any(found):
            _import_package(package)
        for module in found:
            if module is None:
                continue
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, DAG) and value._order:
                    registry.add(value)
    return registry


def _import_package(package: str) -> None:
    try:
        importlib.import_module(package)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"INSTALLED_MODULES names {package!r}, which does not import ({exc}); check the"
            " spelling, or create it with `python manage.py startmodule`"
        ) from exc


_cache: tuple[int, Registry] | None = None


def get_registry() -> Registry:
    """The registry for the settings in force, discovered once per settings generation."""
    global _cache
    generation = settings.generation
    if _cache is None or _cache[0] != generation:
        registry = discover(list(settings.INSTALLED_MODULES))
        _cache = (settings.generation, registry)
    return _cache[1]
