"""FsspecStorage: the conformance suite on memory:// and file:// URLs, and driver errors."""

from __future__ import annotations

import importlib.util
import pickle
import re
import sys
import uuid

import fsspec
from fsspec.registry import _registry
import pytest

from tether.exceptions import ImproperlyConfigured
from tether.files.storages.fsspec import FsspecStorage

from tether.testing.storage import StorageConformance


class TestFsspecMemory(StorageConformance):
    holds_files_in_memory = True

    @pytest.fixture
    def make_storage(self):
        name = f"suite-{uuid.uuid4().hex}"
        yield lambda prefix: FsspecStorage(f"memory://{name}/{prefix}")
        memory = fsspec.filesystem("memory")
        if memory.exists(f"/{name}"):
            memory.rm(f"/{name}", recursive=True)


class TestFsspecLocal(StorageConformance):
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
def test_a_missing_driver_names_the_extra(url: str, module: str, extra: str, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.delitem(_registry, url.partition(":")[0], raising=False)
    with pytest.raises(ImproperlyConfigured, match=rf"{module}.*pip install '{re.escape(extra)}'"):
        FsspecStorage(url)


def test_an_unknown_protocol() -> None:
    with pytest.raises(ImproperlyConfigured, match="'nope'"):
        FsspecStorage("nope://x/y")


def test_an_unknown_scheme_suggests_close_ones() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"unknown URL scheme 's4' \(did you mean s3://") as info:
        FsspecStorage("s4://bucket/x")
    assert "fsspec.available_protocols()" in str(info.value) and "\n" not in str(info.value)


def test_a_known_scheme_without_its_driver_names_the_package() -> None:
    if importlib.util.find_spec("adlfs") is not None:
        pytest.skip("adlfs is installed")
    with pytest.raises(ImproperlyConfigured, match=r"needs the adlfs package for abfs://; run pip install 'adlfs'"):
        FsspecStorage("abfs://container/x")


def test_names_with_glob_characters_move_and_remove_literally(tmp_path) -> None:
    storage = FsspecStorage(f"memory://{uuid.uuid4().hex}")
    storage.touch("a[1]/b?.txt", b"1")
    storage.touch("a1/keep.txt", b"2")
    storage.rm("a[1]", recursive=True)
    assert storage.find() == ["a1/keep.txt"]
