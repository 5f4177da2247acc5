"""The storage conformance suite: the behaviour every storage backend must have.

Subclass `StorageConformance` in a test module and give it a `make_storage`
fixture; pytest then runs every case of the suite against your backend:

    import uuid
    import pytest
    from tether.testing.storage import StorageConformance

    class TestMyStorage(StorageConformance):
        supports_empty_dirs = False  # an object store

        @pytest.fixture
        def make_storage(self, tmp_path):
            base = f"mystore://bucket/{uuid.uuid4().hex}"
            return lambda prefix: MyStorage(f"{base}/{prefix}" if prefix else base)

The cases cover the whole `BaseStorage` API in text and binary, large files
(streamed, never held whole in memory), directories, atomic replacement,
missing paths, unicode and URL-special names, root prefixes, and copies to
and from this machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from tether.files.storages import BaseStorage
from tether.testing._storage_files import FileCases
from tether.testing._storage_trees import TreeCases
from tether.testing._storage_support import (
    ChunkedSource,
    MakeStorage,
    PatternSource,
    stream_digest,
    traced_peak,
)

__all__ = [
    "StorageConformance",
    "MakeStorage",
    "ChunkedSource",
    "PatternSource",
    "stream_digest",
    "traced_peak",
]

class StorageConformance(FileCases, TreeCases):
    """Base class of a backend's tests; subclasses provide the `make_storage` fixture.

    `make_storage(prefix)` returns a fresh storage whose root is `prefix`
    inside one base location private to the test (`""` is the base itself).

    Attributes:
        supports_empty_dirs: the backend keeps empty directories; object
            stores, where a directory is only a prefix of its files, do not.
        holds_files_in_memory: the backend keeps files in this process's
            memory, so the checks that large files are streamed are skipped.
        large_file_size: the size of the file that proves streaming.
        large_file_memory: the most memory a copy, write or read of that file
            may allocate at once (drivers buffer a few parts of an upload).
    """

    supports_empty_dirs: ClassVar[bool] = True
    holds_files_in_memory: ClassVar[bool] = False
    large_file_size: ClassVar[int] = 64 << 20
    large_file_memory: ClassVar[int] = 32 << 20

    @pytest.fixture
    def make_storage(self) -> MakeStorage:
        """A factory of storages under one base location; override it."""
        raise NotImplementedError("give your StorageConformance subclass a make_storage fixture")

    @pytest.fixture
    def storage(self, make_storage: MakeStorage) -> BaseStorage:
        """A storage at the test's base location."""
        return make_storage("")

    @pytest.fixture
    def local_dir(self, tmp_path_factory: pytest.TempPathFactory) -> Path:
        """A folder on this machine outside every storage root, for copies to and from it."""
        return tmp_path_factory.mktemp("local")
