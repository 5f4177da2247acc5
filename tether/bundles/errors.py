"""The errors `tether.bundles` raises; each derives from `BundleError`."""

from __future__ import annotations

from tether.exceptions import TetherError

__all__ = [
    "BundleError",
    "BundleNotFoundError",
    "ContextNotFoundError",
    "BundleClosedError",
    "BundleDataError",
    "BundleCorruptError",
    "NotAvailableError",
]


class BundleError(TetherError):
    """A bundle operation failed: the message names the bundle and what to do."""


class BundleNotFoundError(BundleError, LookupError):
    """No bundle matches the given name, uuid or tags."""


class ContextNotFoundError(BundleError, LookupError):
    """The data context named does not exist."""


class BundleClosedError(BundleError):
    """The bundle is closed (immutable) or abandoned, and cannot be changed."""


class BundleDataError(BundleError, TypeError):
    """The data cannot be stored exactly (an unsupported type, pickling not allowed)."""


class BundleCorruptError(BundleError):
    """A file of a bundle is missing or its content no longer matches its hash."""


class NotAvailableError(BundleError, NotImplementedError):
    """A Disdat feature tether does not offer (yet): the message says what to use instead."""
