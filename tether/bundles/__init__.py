"""Data bundles: versioned, tagged, immutable data with lineage, in named data contexts (Disdat's API).

`import tether.bundles as api` gives the functions of `disdat.api`:

    ctx = "analysis"
    api.context(ctx)
    api.Bundle(ctx, name="features", data=df, tags={"source": "s3"})
    api.cat(ctx, "features")                      # the DataFrame, exactly
    [b.uuid for b in api.search(ctx, "feat*")]    # names match exactly, `*` is the one wildcard
    api.lineage(ctx, uuid)                        # what it was made from, breadth-first

Bundles live in the catalog (`CATALOG_URL`) and in storage (`STORAGE_ROOT`):
manifests under `bundles/contexts/<context>/`, content-addressed files under
`bundles/blobs/`. Search and listing read only the catalog. A context bound
to a remote (`api.remote(ctx, "shared", "s3://bucket/prefix")`) pushes its
committed bundles there (`api.push`) and pulls others' (`api.pull`).

The names are imported on first use, so that importing the package (as the
runner does for its task hook) loads the catalog, the codecs and the remotes
only once a bundle is made or read.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.bundles.api import add, cat, commit, downstream, find_by_hash, get, lineage, rebuild, rm, search
    from tether.bundles.blobs import digest_bytes, digest_file
    from tether.bundles.bundle import Bundle
    from tether.bundles.contexts import (
        DEFAULT_CONTEXT,
        ContextInfo,
        context,
        current_context,
        delete_context,
        ls_contexts,
        switch,
    )
    from tether.bundles.errors import (
        BundleClosedError,
        BundleCorruptError,
        BundleDataError,
        BundleError,
        BundleNotFoundError,
        ContextNotFoundError,
        NotAvailableError,
    )
    from tether.bundles.files import LocalFile, StorageFile
    from tether.bundles.remote_api import PullReport, PushReport, delocalize, localize, pull, push, remote, rmr
    from tether.bundles.unavailable import BundleWrapperTask, PipeTask, apply, dockerize, run, set_aws_profile
    from tether.catalog.bundle_records import LineageRecord

# Public name to the module that defines it.
_EXPORTS = {
    "add": "tether.bundles.api",
    "cat": "tether.bundles.api",
    "commit": "tether.bundles.api",
    "downstream": "tether.bundles.api",
    "find_by_hash": "tether.bundles.api",
    "get": "tether.bundles.api",
    "lineage": "tether.bundles.api",
    "rebuild": "tether.bundles.api",
    "rm": "tether.bundles.api",
    "search": "tether.bundles.api",
    "digest_bytes": "tether.bundles.blobs",
    "digest_file": "tether.bundles.blobs",
    "Bundle": "tether.bundles.bundle",
    "DEFAULT_CONTEXT": "tether.bundles.contexts",
    "ContextInfo": "tether.bundles.contexts",
    "context": "tether.bundles.contexts",
    "current_context": "tether.bundles.contexts",
    "delete_context": "tether.bundles.contexts",
    "ls_contexts": "tether.bundles.contexts",
    "switch": "tether.bundles.contexts",
    "BundleClosedError": "tether.bundles.errors",
    "BundleCorruptError": "tether.bundles.errors",
    "BundleDataError": "tether.bundles.errors",
    "BundleError": "tether.bundles.errors",
    "BundleNotFoundError": "tether.bundles.errors",
    "ContextNotFoundError": "tether.bundles.errors",
    "NotAvailableError": "tether.bundles.errors",
    "LocalFile": "tether.bundles.files",
    "StorageFile": "tether.bundles.files",
    "PullReport": "tether.bundles.remote_api",
    "PushReport": "tether.bundles.remote_api",
    "delocalize": "tether.bundles.remote_api",
    "localize": "tether.bundles.remote_api",
    "pull": "tether.bundles.remote_api",
    "push": "tether.bundles.remote_api",
    "remote": "tether.bundles.remote_api",
    "rmr": "tether.bundles.remote_api",
    "BundleWrapperTask": "tether.bundles.unavailable",
    "PipeTask": "tether.bundles.unavailable",
    "apply": "tether.bundles.unavailable",
    "dockerize": "tether.bundles.unavailable",
    "run": "tether.bundles.unavailable",
    "set_aws_profile": "tether.bundles.unavailable",
    "LineageRecord": "tether.catalog.bundle_records",
}

__all__ = [
    "add",
    "apply",
    "cat",
    "commit",
    "context",
    "current_context",
    "delete_context",
    "delocalize",
    "dockerize",
    "downstream",
    "find_by_hash",
    "get",
    "lineage",
    "localize",
    "ls_contexts",
    "pull",
    "push",
    "rebuild",
    "remote",
    "rm",
    "rmr",
    "run",
    "search",
    "set_aws_profile",
    "switch",
    "Bundle",
    "BundleWrapperTask",
    "PipeTask",
    "ContextInfo",
    "PullReport",
    "PushReport",
    "LineageRecord",
    "LocalFile",
    "StorageFile",
    "DEFAULT_CONTEXT",
    "digest_bytes",
    "digest_file",
    "BundleError",
    "BundleNotFoundError",
    "ContextNotFoundError",
    "BundleClosedError",
    "BundleDataError",
    "BundleCorruptError",
    "NotAvailableError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
