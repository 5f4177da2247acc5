"""Resolve dotted paths named in settings, with errors that say how to fix them."""

from __future__ import annotations

import importlib
from typing import Any

from tether.exceptions import ImproperlyConfigured

# Optional dependencies by the top-level module a backend needs, and the extra
# that installs it.
_EXTRAS = {
    "s3fs": "tether[s3]",
    "gcsfs": "tether[gcs]",
    "polars": "tether[polars]",
    "dask": "tether[dask]",
    "distributed": "tether[dask]",
    "sqlalchemy": "tether[sql]",
}


def install_hint(module: str) -> str:
    """Return the pip command that installs the package providing `module`."""
    top = module.split(".", 1)[0]
    return f"pip install '{_EXTRAS.get(top, top)}'"


def import_string(dotted_path: str, setting: str | None = None) -> Any:
    """Import `package.module.Attribute` and return the attribute.

    Args:
        dotted_path: a module path, a dot, and the attribute to take from it.
        setting: the setting that named the path, quoted in the error.

    Raises:
        ImproperlyConfigured: the path is malformed, its module does not import,
            or the module has no such attribute.
    """
    where = f"{setting} = {dotted_path!r}" if setting else repr(dotted_path)
    if not isinstance(dotted_path, str) or "." not in dotted_path.strip("."):
        raise ImproperlyConfigured(
            f"{where} is not a dotted path; give 'package.module.Name'"
        )
    module_path, _, attr = dotted_path.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_path
        if module_path == missing or module_path.startswith(missing + "."):
            raise ImproperlyConfigured(
                f"{where}: module '{module_path}' does not exist; check the spelling"
                " and that its package is on the Python path"
            ) from exc
        raise ImproperlyConfigured(
            f"{where}: importing '{module_path}' needs '{missing}', which is not"
            f" installed; run {install_hint(missing)}"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImproperlyConfigured(
            f"{where}: module '{module_path}' has no attribute '{attr}'; check the spelling"
        ) from None
