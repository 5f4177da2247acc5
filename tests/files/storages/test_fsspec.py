"""FsspecStorage: the conformance suite on memory:// and file:// URLs, and driver errors."""

from __future__ import annotations

import importlib.util
import pickle
import re
import uuid

import fsspec
import pytest

from tether.exceptions import ImproperlyConfigured
from tether.files.storages.fsspec import FsspecStorage

from ..storage_suite import StorageSuite


class TestFsspecMemory(StorageSuite):
    @pytest.fixture
    def make_storage(self):
        name = f"suite-{uuid.uuid4().hex}"
        yield lambda prefix: FsspecStorage(f"memory://{name}/{prefix}")
        memory = fsspec.filesystem("memory")
        if memory.exists(f"/{name}"):
            memory.rm(f"/{name}", recursive=True)


class TestFsspecLocal(StorageSuite):
    @pytest.fixture
    def make_storage(self, tmp_path):
        return lambda prefix: FsspecStorage(f"file://{tmp_path}/{prefix}")


def test_root_and_urls(tmp_path) -> None:
    storage = FsspecStorage(f"file://{tmp_path}/")
    assert storage.root == f"file://{tmp_path}"
    storage.touch("a/b", b"x")
    assert storage.abspath("a/b") == f"file://{tmp_path}/a/b"
    assert storage.local_path("a/b") == f"{tmp_path}/a/b"
    assert storage.relpath(f"{tmp_path}/a/b") == "a/b"


def test_remote_storages_have_no_local_path() -> None:
    storage = FsspecStorage(f"memory://{uuid.uuid4().hex}")
    storage.touch("x", b"1")
    assert storage.local_path("x") is None


def test_pickles_for_other_processes(tmp_path) -> None:
    storage = FsspecStorage(f"file://{tmp_path}")
    storage.touch("x", b"1")
    assert pickle.loads(pickle.dumps(storage)).read("x") == b"1"


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [("s3://bucket/prefix", "s3fs", "tether[s3]"), ("gs://bucket/prefix", "gcsfs", "tether[gcs]")],
)
def test_a_missing_driver_names_the_extra(url: str, module: str, extra: str) -> None:
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed")
    with pytest.raises(ImproperlyConfigured, match=rf"{module}.*pip install '{re.escape(extra)}'"):
        FsspecStorage(url)


def test_an_unknown_protocol() -> None:
    with pytest.raises(ImproperlyConfigured, match="'nope'"):
        FsspecStorage("nope://x/y")
