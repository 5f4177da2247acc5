"""The errors the catalog raises; each derives from `CatalogError`."""

from __future__ import annotations

from tether.exceptions import ImproperlyConfigured, RunNotFoundError as _RunNotFoundError
from tether.exceptions import TetherError

__all__ = [
    "CatalogError",
    "CatalogConfigError",
    "CatalogBusyError",
    "CatalogDamagedError",
    "SchemaVersionError",
    "RunNotFoundError",
    "AmbiguousRunError",
]


class CatalogError(TetherError):
    """A catalog operation failed: the message names the catalog and what to do."""


class CatalogConfigError(CatalogError, ImproperlyConfigured):
    """`CATALOG_URL` names a catalog tether cannot open (an unsupported scheme, no path)."""


class CatalogBusyError(CatalogError):
    """The catalog stayed locked by other processes for longer than the timeout."""


class CatalogDamagedError(CatalogError):
    """The catalog file is not an SQLite database or is corrupt; a rebuild replaces it."""


class SchemaVersionError(CatalogError):
    """The catalog's schema is newer than this tether knows, or a migration failed."""


class RunNotFoundError(CatalogError, _RunNotFoundError):
    """No recorded run matches the given id, prefix or folder.

    Also a `tether.exceptions.RunNotFoundError`, so code that looks runs up in
    storage or in the catalog catches one exception.
    """


class AmbiguousRunError(RunNotFoundError):
    """A prefix matches several recorded runs."""
