"""Choosing a backend: `get_storage`, `backend_for_root` and the lazy `default_storage`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import tether
from tether.conf import settings
from tether.exceptions import ImproperlyConfigured
from tether.files.storages import (
    FSSPEC_BACKEND,
    GOOGLE_BACKEND,
    LOCAL_BACKEND,
    MEMORY_BACKEND,
    S3_BACKEND,
    backend_for_root,
    default_storage,
    get_storage,
)
from tether.files.storages.fsspec import FsspecStorage
from tether.files.storages.local import LocalStorage
from tether.files.storages.memory import MemoryStorage


@pytest.mark.parametrize(
    ("root", "backend"),
    [
        ("/srv/data", LOCAL_BACKEND),
        ("data", LOCAL_BACKEND),
        ("C:\\data", LOCAL_BACKEND),
        ("file:///srv/data", LOCAL_BACKEND),
        ("memory://scratch", MEMORY_BACKEND),
        ("MEMORY://", MEMORY_BACKEND),
        ("s3://bucket/prefix", S3_BACKEND),
        ("S3A://bucket", S3_BACKEND),
        ("gs://bucket", GOOGLE_BACKEND),
        ("gcs://bucket/x", GOOGLE_BACKEND),
        ("abfs://container/x", FSSPEC_BACKEND),
    ],
)
def test_backend_for_root(root: str, backend: str) -> None:
    assert backend_for_root(root) == backend


def test_default_storage_follows_the_settings(tmp_path) -> None:
    with settings.override(STORAGE_ROOT=str(tmp_path / "a")):
        assert isinstance(default_storage._resolve(), LocalStorage)
        assert default_storage.root == str(tmp_path / "a")
        default_storage.touch("f", b"1")
        first = default_storage._resolve()
        assert default_storage._resolve() is first
        with settings.override(STORAGE_ROOT="memory://"):
            assert isinstance(default_storage._resolve(), MemoryStorage)
            assert not default_storage.exists("f")
        assert default_storage.read("f") == b"1"


def test_a_relative_local_root_is_taken_from_base_dir(tmp_path) -> None:
    with settings.override(BASE_DIR=str(tmp_path), STORAGE_ROOT="data/"):
        assert get_storage().root == str(tmp_path / "data")
    with settings.override(BASE_DIR=str(tmp_path)):
        assert get_storage().root == str(tmp_path / "data")


def test_storage_backend_by_dotted_path(tmp_path) -> None:
    with settings.override(STORAGE_BACKEND=FSSPEC_BACKEND, STORAGE_ROOT=f"file://{tmp_path}"):
        assert isinstance(get_storage(), FsspecStorage)
    with settings.override(STORAGE_BACKEND=MEMORY_BACKEND, STORAGE_ROOT="memory://x"):
        assert isinstance(get_storage(), MemoryStorage)


def test_storage_options_reach_the_backend(tmp_path) -> None:
    with settings.override(STORAGE_ROOT=str(tmp_path), STORAGE_OPTIONS={"anon": True}):
        with pytest.raises(ImproperlyConfigured, match="STORAGE_OPTIONS"):
            get_storage()


def test_explicit_arguments(tmp_path) -> None:
    assert isinstance(get_storage(root="memory://"), MemoryStorage)
    assert isinstance(get_storage(FsspecStorage, root="memory://"), FsspecStorage)
    assert get_storage(root=tmp_path).root == str(tmp_path)


def test_a_bad_backend_names_the_setting() -> None:
    with settings.override(STORAGE_BACKEND="tether.files.storages.nope.Nope", STORAGE_ROOT="/x"):
        with pytest.raises(ImproperlyConfigured, match="STORAGE_BACKEND"):
            get_storage()


def test_a_missing_driver_is_a_configuration_error() -> None:
    pytest.importorskip("fsspec")
    with settings.override(STORAGE_ROOT="nope://bucket"):
        with pytest.raises(ImproperlyConfigured, match="nope"):
            default_storage.exists("x")


def test_importing_storages_is_cheap() -> None:
    code = (
        "import sys, tether.files.storages, tether.files.data;"
        "print(sorted(m for m in ('pandas', 'fsspec', 'pyarrow', 'numpy') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(tether.__file__))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
