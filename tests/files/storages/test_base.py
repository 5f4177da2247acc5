"""Path normalization and atomic writers, the parts every backend shares."""

from __future__ import annotations

import io
import uuid
from pathlib import PurePosixPath

import pytest

from tether.exceptions import StorageError
from tether.files.storages import BaseStorage, StoragePathError, normalize_path
from tether.files.storages._atomic import AtomicTextWriter, AtomicWriter, is_temp_name, temp_name
from tether.files.storages.memory import MemoryStorage

from ..storage_suite import StorageSuite


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("", ""),
        ("/", ""),
        ("a/b", "a/b"),
        ("/a/b/", "a/b"),
        ("a//b/./c", "a/b/c"),
        ("a/b/../c", "a/c"),
        ("a\\b\\c", "a/b/c"),
        (PurePosixPath("x/y"), "x/y"),
        ("runs/2024/01/01/r1", "runs/2024/01/01/r1"),
    ],
)
def test_normalize_path(path, key: str) -> None:
    assert normalize_path(path) == key


@pytest.mark.parametrize("path", ["..", "../a", "a/../../b", "/..", "a\\..\\..\\b"])
def test_normalize_path_refuses_escapes(path: str) -> None:
    with pytest.raises(StoragePathError, match="escapes the storage root"):
        normalize_path(path)


@pytest.mark.parametrize("path", ["a\x00b", b"bytes", 3])
def test_normalize_path_refuses_non_paths(path) -> None:
    with pytest.raises(StoragePathError):
        normalize_path(path)


def test_temp_names() -> None:
    name = temp_name("model.pkl", "abc")
    assert is_temp_name(name) and not is_temp_name("model.pkl")
    assert len(temp_name("x" * 250, "0" * 12)) < 255


def _writer() -> tuple[AtomicWriter, list[str]]:
    events: list[str] = []
    buffer = io.BytesIO()
    writer = AtomicWriter(buffer, lambda: events.append("commit"), lambda: events.append("discard"), "k")
    return writer, events


def test_writer_commits_once_on_close() -> None:
    writer, events = _writer()
    assert writer.write(memoryview(b"abc")) == 3
    writer.close()
    writer.close()
    assert events == ["commit"]
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"x")


def test_writer_discards_on_abort_and_on_error() -> None:
    writer, events = _writer()
    writer.abort()
    writer.close()
    assert events == ["discard"]
    text, events = _writer()
    with pytest.raises(KeyError):
        with AtomicTextWriter(text, encoding="utf-8"):
            raise KeyError
    assert events == ["discard"]


def test_a_failed_commit_discards_and_says_what() -> None:
    events: list[str] = []

    def commit() -> None:
        raise PermissionError(13, "Permission denied")

    writer = AtomicWriter(io.BytesIO(), commit, lambda: events.append("discard"), "runs/x")
    with pytest.raises(StorageError, match="cannot write 'runs/x'.*Permission denied"):
        writer.close()
    assert events == ["discard"]


class DerivedOnly(MemoryStorage):
    """A backend with only the abstract surface: everything else comes from BaseStorage."""

    _copy_file = BaseStorage._copy_file
    relpath = BaseStorage.relpath


class TestDerivedAPI(StorageSuite):
    @pytest.fixture
    def make_storage(self):
        name = f"derived-{uuid.uuid4().hex}"
        return lambda prefix: DerivedOnly(f"memory://{name}/{prefix}")
