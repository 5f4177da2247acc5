"""Path normalization and atomic writers, the parts every backend shares."""

from __future__ import annotations

import io
import time
import uuid
from pathlib import PurePosixPath

import pytest

from tether.exceptions import StorageError
from tether.files.storages import BaseStorage, StoragePathError, normalize_path
from tether.files.storages._atomic import AtomicTextWriter, AtomicWriter, is_temp_name, temp_name
from tether.files.storages._transfer import run_concurrently, write_local
from tether.files.storages.memory import MemoryStorage

from tether.testing.storage import StorageConformance


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


class TestDerivedAPI(StorageConformance):
    holds_files_in_memory = True

    @pytest.fixture
    def make_storage(self):
        name = f"derived-{uuid.uuid4().hex}"
        return lambda prefix: DerivedOnly(f"memory://{name}/{prefix}")


class FailingReads(MemoryStorage):
    """Reads of `broken*` files fail after the first chunk."""

    def _open_read(self, key: str):
        handle = super()._open_read(key)
        if not key.rpartition("/")[2].startswith("broken"):
            return handle

        class Broken(io.BytesIO):
            def read(self, size: int = -1) -> bytes:
                if self.tell():
                    raise OSError(5, "Input/output error")
                return super().read(size)

        return Broken(handle.read())


def test_a_failed_download_leaves_no_partial_file(tmp_path) -> None:
    storage = FailingReads()
    storage.touch("run/a-good.bin", b"g" * (storage.chunk_size * 2))
    storage.touch("run/broken.bin", b"b" * (storage.chunk_size * 2))
    with pytest.raises(StorageError, match="Input/output error"):
        storage.download("run", tmp_path / "out", concurrency=1)
    left = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert left == ["a-good.bin"]
    assert (tmp_path / "out" / "a-good.bin").read_bytes() == b"g" * (storage.chunk_size * 2)


def test_a_failed_upload_publishes_complete_files_only(tmp_path, monkeypatch) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("a.bin", "b.bin", "c.bin"):
        (source / name).write_bytes(name.encode() * 1000)
    storage = MemoryStorage()
    original = storage._put_file

    def put(local: str, key: str) -> None:
        if key.endswith("b.bin"):
            raise PermissionError(13, "Permission denied", local)
        original(local, key)

    monkeypatch.setattr(storage, "_put_file", put)
    with pytest.raises(StorageError, match="Permission denied"):
        storage.upload(source, "up", concurrency=1)
    assert storage.find() == ["up/a.bin"]
    assert storage.read("up/a.bin") == b"a.bin" * 1000


def test_run_concurrently_stops_at_the_first_error() -> None:
    started: list[str] = []

    def work(name: str, _: str) -> None:
        started.append(name)
        if name == "1":
            raise KeyError(name)
        time.sleep(0.01)

    with pytest.raises(KeyError):
        run_concurrently(work, [(str(n), "") for n in range(200)], 2)
    assert len(started) < 200


def test_write_local_replaces_only_on_success(tmp_path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("old")

    def fail(temp: str) -> None:
        with open(temp, "w") as handle:
            handle.write("half")
        raise KeyError

    with pytest.raises(KeyError):
        write_local(str(target), fail)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    write_local(str(target), lambda temp: open(temp, "w").close())
    assert target.read_text() == ""
