"""Storage backends and `default_storage`, the storage that settings describe."""

from __future__ import annotations

import os
import re
from typing import Any

from tether.conf import settings
from tether.files.storages.base import BaseStorage
from tether.files.storages.errors import (
    StorageBucketNotFoundError,
    StorageConnectionError,
    StorageError,
    StorageExistsError,
    StorageIsADirectoryError,
    StorageNotADirectoryError,
    StorageNotFoundError,
    StoragePathError,
    StoragePermissionError,
    StorageTimeoutError,
)
from tether.files.storages.paths import normalize_path, run_path
from tether.utils import LazyProxy, import_string

__all__ = [
    "default_storage",
    "get_storage",
    "backend_for_root",
    "BaseStorage",
    "StorageError",
    "StorageExistsError",
    "StorageIsADirectoryError",
    "StorageNotADirectoryError",
    "StorageNotFoundError",
    "StoragePathError",
    "StoragePermissionError",
    "StorageConnectionError",
    "StorageTimeoutError",
    "StorageBucketNotFoundError",
    "normalize_path",
    "run_path",
]

LOCAL_BACKEND = "tether.files.storages.local.LocalStorage"
MEMORY_BACKEND = "tether.files.storages.memory.MemoryStorage"
FSSPEC_BACKEND = "tether.files.storages.fsspec.FsspecStorage"
S3_BACKEND = "tether.files.storages.s3.S3Storage"
GOOGLE_BACKEND = "tether.files.storages.google.GoogleStorage"

# URL schemes with a storage of their own; any other goes to fsspec.
_BACKENDS = {
    "file": LOCAL_BACKEND,
    "local": LOCAL_BACKEND,
    "memory": MEMORY_BACKEND,
    "s3": S3_BACKEND,
    "s3a": S3_BACKEND,
    "gs": GOOGLE_BACKEND,
    "gcs": GOOGLE_BACKEND,
}

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def backend_for_root(root: str | os.PathLike[str]) -> str:
    """The dotted path of the storage class for `root`, chosen by its URL scheme.

    A plain path or a `file://` URL is local storage, `memory://` is memory
    storage, `s3://` is S3 storage, `gs://` is Google Cloud Storage, and any
    other URL (`abfs://`, `ftp://`, ...) goes to fsspec.
    """
    match = _SCHEME.match(os.fspath(root))
    scheme = match.group(1).lower() if match else "file"
    return _BACKENDS.get(scheme, FSSPEC_BACKEND)


def get_storage(
    backend: str | type[BaseStorage] | None = None,
    root: str | os.PathLike[str] | None = None,
    **options: Any,
) -> BaseStorage:
    """Build a storage.

    With no arguments it is the storage of the settings: `STORAGE_BACKEND`
    (or the class `STORAGE_ROOT` calls for) at `STORAGE_ROOT`, with
    `STORAGE_OPTIONS`; a relative local root is taken from `BASE_DIR`.

    Args:
        backend: a storage class or its dotted path; None chooses from `root`
            (or uses `STORAGE_BACKEND` when `root` is None too).
        root: the folder or URL; None is `STORAGE_ROOT`.
        **options: passed to the storage; with `root` None they are laid over
            `STORAGE_OPTIONS`.

    Raises:
        ImproperlyConfigured: the backend cannot be imported or the root needs
            a driver that is not installed.
    """
    from tether.files.storages.local import LocalStorage

    setting = "backend"
    from_settings = root is None
    if root is None:
        root = os.fspath(settings.STORAGE_ROOT)
        options = {**(settings.STORAGE_OPTIONS or {}), **options}
        if backend is None and settings.STORAGE_BACKEND:
            backend, setting = settings.STORAGE_BACKEND, "STORAGE_BACKEND"
    if backend is None:
        backend = backend_for_root(root)
    storage_class: type[BaseStorage]
    storage_class = import_string(backend, setting) if isinstance(backend, str) else backend
    is_local = issubclass(storage_class, LocalStorage) and not _SCHEME.match(os.fspath(root))
    if from_settings and is_local:
        root = os.path.join(settings.BASE_DIR, os.path.expanduser(os.fspath(root)))
    return storage_class(root, **options)


default_storage: BaseStorage = LazyProxy(  # type: ignore[assignment]
    get_storage, lambda: settings.generation
)
