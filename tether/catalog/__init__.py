"""The catalog: the index of runs, task runs, metrics and params (SQLite by default).

`default_catalog` is the catalog `CATALOG_URL` names, rebuilt when settings
change; `open_catalog(url)` opens any other. The schema also holds the tables
of data bundles (contexts, bundles, files, blobs, tags, params, lineage), which
`tether.bundles` fills through `Catalog.bundles` (`bundle_index.BundleIndex`) and
`Catalog.rebuild_bundles` re-creates from the bundle manifests in storage.
"""

from __future__ import annotations

import os

from tether.catalog.base import Catalog, RunLike, TaskLike
from tether.catalog.bundle_records import BundleEntry, ContextEntry, FileEntry, LineageRecord
from tether.catalog.errors import (
    AmbiguousRunError,
    CatalogBusyError,
    CatalogConfigError,
    CatalogDamagedError,
    CatalogError,
    RunNotFoundError,
    SchemaVersionError,
)
from tether.catalog.records import (
    Metric,
    RebuildReport,
    RunEntry,
    TaskEntry,
    metrics_from_manifest,
)
from tether.conf import settings
from tether.utils import LazyProxy

__all__ = [
    "Catalog",
    "default_catalog",
    "open_catalog",
    "catalog_path",
    "RunEntry",
    "TaskEntry",
    "Metric",
    "RebuildReport",
    "RunLike",
    "TaskLike",
    "metrics_from_manifest",
    "BundleEntry",
    "ContextEntry",
    "FileEntry",
    "LineageRecord",
    "CatalogError",
    "CatalogConfigError",
    "CatalogBusyError",
    "CatalogDamagedError",
    "SchemaVersionError",
    "RunNotFoundError",
    "AmbiguousRunError",
]

_SQLITE = "sqlite:///"


def catalog_path(url: str, base_dir: str | os.PathLike[str] | None = None) -> str:
    """The file of the SQLite catalog at `url` (`sqlite:///relative/path` or `sqlite:////absolute/path`).

    Args:
        url: the catalog URL.
        base_dir: what a relative path is relative to (default: the current folder).

    Raises:
        CatalogConfigError: `url` is not an SQLite URL with a file path.
    """
    text = os.fspath(url).strip()
    scheme = text.split(":", 1)[0] if ":" in text else ""
    if not text.startswith(_SQLITE):
        # Only the scheme is echoed: the rest of a database URL may hold a password.
        named = f"a {scheme!r} URL" if scheme else repr(text)
        raise CatalogConfigError(
            f"CATALOG_URL is {named}, but only SQLite catalogs are supported for now; set"
            " CATALOG_URL = 'sqlite:////path/to/catalog.sqlite3' or leave it unset"
        )
    path = text[len(_SQLITE) :]
    if not path or path == ":memory:" or "?" in path:
        raise CatalogConfigError(
            f"CATALOG_URL {text!r} does not name a database file; give a path, as in"
            " 'sqlite:////path/to/catalog.sqlite3' (in-memory catalogs and URL options are"
            " not supported)"
        )
    path = os.path.expanduser(path)
    if not os.path.isabs(path):
        path = os.path.join(os.fspath(base_dir) if base_dir is not None else os.getcwd(), path)
    return os.path.normpath(path)


def open_catalog(
    url: str, *, base_dir: str | os.PathLike[str] | None = None, timeout: float = 30.0
) -> Catalog:
    """Open the catalog at `url`; nothing is read or created until it is first used.

    Args:
        url: `sqlite:///` followed by the database file's path (absolute:
            `sqlite:////data/catalog.sqlite3`; relative to `base_dir`:
            `sqlite:///.tether/catalog.sqlite3`).
        base_dir: what a relative path is relative to (default: the current folder).
        timeout: seconds to wait for other processes' write locks.

    Raises:
        CatalogConfigError: `url` is not an SQLite URL with a file path.
    """
    from tether.catalog.sqlite import SQLiteCatalog

    return SQLiteCatalog(catalog_path(url, base_dir), timeout=timeout, url=url)


def _default_catalog() -> Catalog:
    return open_catalog(settings.CATALOG_URL, base_dir=settings.BASE_DIR)


default_catalog: Catalog = LazyProxy(_default_catalog, lambda: settings.generation)  # type: ignore[assignment]
"""The catalog of `CATALOG_URL`, opened on first use and again when settings change."""
