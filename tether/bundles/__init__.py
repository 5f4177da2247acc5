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
"""

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
