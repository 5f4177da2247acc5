"""MemoryStorage: the conformance suite, and how stores are shared or kept apart."""

from __future__ import annotations

import pickle
import uuid

import pytest

from tether.exceptions import ImproperlyConfigured
from tether.files.storages.memory import MemoryStorage

from tether.testing.storage import StorageConformance


class TestMemoryStorage(StorageConformance):
    holds_files_in_memory = True

    @pytest.fixture
    def make_storage(self):
        name = f"suite-{uuid.uuid4().hex}"
        return lambda prefix: MemoryStorage(f"memory://{name}/{prefix}")


def test_private_stores_are_isolated() -> None:
    first, second = MemoryStorage(), MemoryStorage("memory://")
    first.touch("a", b"1")
    assert not second.exists("a")
    assert first.root == "memory://"


def test_named_stores_are_shared_in_the_process() -> None:
    name = f"shared-{uuid.uuid4().hex}"
    MemoryStorage(f"memory://{name}").touch("runs/x", b"1")
    assert MemoryStorage(f"memory://{name}").read("runs/x") == b"1"
    assert MemoryStorage(f"memory://{name}/runs").read("x") == b"1"
    assert not MemoryStorage(f"memory://other-{name}").exists("runs/x")


def test_readers_do_not_see_later_writes() -> None:
    storage = MemoryStorage()
    storage.touch("f", b"before")
    with storage.open("f") as reader:
        storage.touch("f", b"after")
        assert reader.read() == b"before"


def test_bad_roots_and_options() -> None:
    with pytest.raises(ImproperlyConfigured, match="memory://"):
        MemoryStorage("/tmp/x")
    with pytest.raises(ImproperlyConfigured, match="STORAGE_OPTIONS"):
        MemoryStorage("memory://x", size=3)


def test_cannot_leave_the_process() -> None:
    with pytest.raises(TypeError, match="process"):
        pickle.dumps(MemoryStorage())
