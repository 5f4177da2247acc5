"""Conformance cases on files: reading and writing, atomic writes, errors, large files."""

from __future__ import annotations

import gc
import io
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tether.files.storages import (
    BaseStorage,
    StorageError,
    StorageIsADirectoryError,
    StorageNotFoundError,
)
from tether.testing._storage_support import (
    ChunkedSource,
    PatternSource,
    random_bytes,
    stream_digest,
    traced_peak,
)

__all__ = ["FileCases"]


class Boom(Exception):
    """The error a test raises inside a write, to check that nothing is published."""


class FileCases:
    """Cases on single files; mixed into `StorageConformance`."""

    holds_files_in_memory: ClassVar[bool]
    large_file_size: ClassVar[int]
    large_file_memory: ClassVar[int]

    # --- reading and writing ------------------------------------------------------------

    def test_text_and_bytes_round_trip(self, storage: BaseStorage) -> None:
        storage.touch("a.txt", "héllo\nworld")
        storage.touch("b.bin", bytes(range(256)))
        assert storage.read("a.txt", "r") == "héllo\nworld"
        assert storage.read("a.txt") == "héllo\nworld".encode()
        assert storage.read("b.bin") == bytes(range(256))

    def test_text_modes_handle_newlines_and_encodings(self, storage: BaseStorage) -> None:
        with storage.open("crlf.txt", "w", newline="\r\n") as handle:
            handle.write("one\ntwo\n")
        assert storage.read("crlf.txt") == b"one\r\ntwo\r\n"
        with storage.open("crlf.txt", "r") as handle:
            assert handle.read() == "one\ntwo\n"
        with storage.open("latin.txt", "w", encoding="latin-1") as handle:
            handle.write("café")
        assert storage.read("latin.txt") == "café".encode("latin-1")
        assert storage.read("latin.txt", "r", encoding="latin-1") == "café"

    def test_touch_creates_parents_and_replaces(self, storage: BaseStorage) -> None:
        storage.touch("deep/er/file.txt", "one")
        storage.touch("deep/er/file.txt", b"two")
        assert storage.read("deep/er/file.txt") == b"two"
        assert storage.isdir("deep/er")

    def test_touch_without_content_makes_an_empty_file(self, storage: BaseStorage) -> None:
        storage.touch("empty")
        assert storage.isfile("empty") and storage.read("empty") == b""

    @pytest.mark.parametrize("factory", [io.BytesIO, lambda data: io.StringIO(data.decode())])
    def test_touch_streams_file_objects(self, storage: BaseStorage, factory: Any) -> None:
        data = b"x" * (storage.chunk_size * 2 + 17)
        storage.touch("big", factory(data))
        assert storage.read("big") == data

    def test_touch_reads_in_chunks(self, storage: BaseStorage) -> None:
        data = random_bytes(storage.chunk_size + 5)
        source = ChunkedSource(data)
        storage.touch("chunked", source)
        assert storage.read("chunked") == data
        assert source.reads >= 2

    def test_touch_from_an_open_file(self, storage: BaseStorage, local_dir: Path) -> None:
        local = local_dir / "source.bin"
        local.write_bytes(b"from disk")
        with open(local, "rb") as handle:
            storage.touch("copied", handle)
        assert storage.read("copied") == b"from disk"

    def test_touch_refuses_other_content(self, storage: BaseStorage) -> None:
        with pytest.raises(TypeError, match="int"):
            storage.touch("x", 3)  # type: ignore[arg-type]
        assert not storage.exists("x")

    def test_open_modes(self, storage: BaseStorage) -> None:
        with storage.open("t.txt", "w") as handle:
            handle.write("line 1\n")
        with storage.open("t.txt", "a") as handle:
            handle.write("line 2\n")
        with storage.open("t.txt", "ab") as handle:
            handle.write(b"line 3\n")
        with storage.open("t.txt", "r") as handle:
            assert handle.readlines() == ["line 1\n", "line 2\n", "line 3\n"]
        with storage.open("t.txt") as handle:
            assert handle.read(4) == b"line"

    def test_readers_seek_like_files(self, storage: BaseStorage) -> None:
        storage.touch("seek.bin", bytes(range(100)))
        with storage.open("seek.bin") as handle:
            assert handle.seekable()
            handle.seek(10)
            assert handle.read(3) == bytes([10, 11, 12])
            assert handle.tell() == 13
            handle.seek(-2, io.SEEK_END)
            assert handle.read() == bytes([98, 99])
            handle.seek(0)
            assert handle.read(1) == b"\x00"

    def test_append_creates_a_missing_file(self, storage: BaseStorage) -> None:
        with storage.open("new.log", "a") as handle:
            handle.write("first")
        assert storage.read("new.log", "r") == "first"

    def test_unsupported_mode(self, storage: BaseStorage) -> None:
        with pytest.raises(StorageError, match="r\\+"):
            storage.open("x", "r+")

    def test_reads_are_repeatable(self, storage: BaseStorage) -> None:
        storage.touch("again", b"same bytes")
        assert storage.read("again") == storage.read("again") == b"same bytes"
        with storage.open("again") as first, storage.open("again") as second:
            assert first.read() == second.read() == b"same bytes"

    # --- atomic writes ------------------------------------------------------------------

    @pytest.mark.parametrize("mode", ["wb", "w", "ab"])
    def test_failed_write_keeps_the_old_content(self, storage: BaseStorage, mode: str) -> None:
        storage.touch("model.pkl", b"old")
        with pytest.raises(Boom):
            with storage.open("model.pkl", mode) as handle:
                handle.write(b"new" if "b" in mode else "new")
                raise Boom
        assert storage.read("model.pkl") == b"old"
        assert storage.ls() == (["model.pkl"], [])

    def test_failed_write_of_a_new_file_leaves_nothing(self, storage: BaseStorage) -> None:
        with pytest.raises(Boom):
            with storage.open("out/new.bin", "wb") as handle:
                handle.write(b"partial")
                raise Boom
        assert not storage.exists("out/new.bin")
        assert storage.find() == []

    def test_failed_write_of_many_blocks_leaves_nothing(self, storage: BaseStorage) -> None:
        # Past the size at which object stores start a multipart or resumable upload.
        block = random_bytes(1 << 20)
        storage.touch("keep.bin", b"old")
        with pytest.raises(Boom):
            with storage.open("keep.bin", "wb") as handle:
                for _ in range(12):
                    handle.write(block)
                raise Boom
        assert storage.read("keep.bin") == b"old"
        assert storage.find() == ["keep.bin"]

    def test_failed_touch_stream_leaves_the_old_content(self, storage: BaseStorage) -> None:
        class Failing(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def read(self, size: int | None = -1) -> bytes:
                raise Boom

        storage.touch("data.csv", "a,b")
        with pytest.raises(Boom):
            storage.touch("data.csv", Failing())
        assert storage.read("data.csv", "r") == "a,b"

    def test_data_appears_only_on_close(self, storage: BaseStorage) -> None:
        handle = storage.open("late.txt", "wb")
        handle.write(b"content")
        handle.flush()
        assert not storage.exists("late.txt")
        handle.close()
        assert storage.read("late.txt") == b"content"

    def test_an_unclosed_writer_publishes_nothing(self, storage: BaseStorage) -> None:
        handle = storage.open("dropped.txt", "w")
        handle.write("never")
        del handle
        gc.collect()
        assert not storage.exists("dropped.txt")

    def test_temporary_names_are_hidden(self, storage: BaseStorage) -> None:
        storage.touch("real.txt", b"x")
        handle = storage.open("pending.txt", "wb")
        handle.write(b"not yet")
        try:
            assert storage.ls() == (["real.txt"], [])
            assert storage.find() == ["real.txt"]
        finally:
            handle.close()
        assert storage.find() == ["pending.txt", "real.txt"]

    # --- errors on missing paths and wrong kinds ----------------------------------------

    def test_reading_a_missing_file(self, storage: BaseStorage) -> None:
        with pytest.raises(StorageNotFoundError, match="missing/file.txt") as info:
            storage.open("missing/file.txt")
        assert isinstance(info.value, FileNotFoundError)
        assert "\n" not in str(info.value)
        with pytest.raises(StorageNotFoundError):
            storage.read("missing/file.txt", "r")

    def test_reading_a_directory(self, storage: BaseStorage) -> None:
        storage.touch("folder/file", b"x")
        with pytest.raises(StorageIsADirectoryError, match="folder"):
            storage.read("folder")

    def test_writing_over_a_directory(self, storage: BaseStorage) -> None:
        storage.touch("folder/file", b"x")
        with pytest.raises(StorageIsADirectoryError):
            storage.touch("folder", b"y")
        assert storage.read("folder/file") == b"x"
        assert storage.find() == ["folder/file"]

    def test_writing_below_a_file(self, storage: BaseStorage) -> None:
        storage.touch("plain", b"x")
        with pytest.raises(StorageError):
            storage.touch("plain/child", b"y")
        with pytest.raises(StorageError):
            storage.touch("plain/deeper/child", b"y")
        assert storage.read("plain") == b"x"
        assert storage.find() == ["plain"]

    def test_queries_answer_false_for_missing_paths(self, storage: BaseStorage) -> None:
        storage.touch("file.txt", b"x")
        for path in ("nothing", "nothing/below", "file.txt/below"):
            assert storage.exists(path) is False
            assert storage.isfile(path) is False
            assert storage.isdir(path) is False
        assert storage.isfile("file.txt") and not storage.isdir("file.txt")

    # --- large files --------------------------------------------------------------------

    def test_large_files_are_streamed(self, storage: BaseStorage) -> None:
        size, limit = self.large_file_size, self.large_file_memory
        source = PatternSource(size)
        with traced_peak() as write_peak:
            storage.touch("big/data.bin", source)
        with traced_peak() as copy_peak:
            storage.cp("big/data.bin", "copy/data.bin")
        with traced_peak() as read_peak:
            digest = stream_digest(storage, "copy/data.bin")
        assert digest == source.digest()
        assert storage.find() == ["big/data.bin", "copy/data.bin"]
        if self.holds_files_in_memory:
            return
        mib = 1 << 20
        for what, peak in (("write", write_peak), ("copy", copy_peak), ("read", read_peak)):
            assert peak[0] < limit, (
                f"a {what} of a {size // mib} MiB file allocated {peak[0] / mib:.1f} MiB at once;"
                f" the limit is {limit // mib} MiB"
            )
