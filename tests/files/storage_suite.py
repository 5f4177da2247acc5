"""The behaviour every storage backend must have; a backend's tests subclass `StorageSuite`."""

from __future__ import annotations

import gc
import io
import os
from collections.abc import Callable

import pytest

from tether.conf.context import Context, activate, deactivate
from tether.files.storages import (
    BaseStorage,
    StorageError,
    StorageExistsError,
    StorageIsADirectoryError,
    StorageNotADirectoryError,
    StorageNotFoundError,
    StoragePathError,
)

MakeStorage = Callable[[str], BaseStorage]


class ChunkedSource(io.RawIOBase):
    """A readable stream that refuses to be read whole, to prove content is streamed."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size is not None and size > 0, "content must be read in chunks"
        self.reads += 1
        return self._data.read(size)


class Boom(Exception):
    pass


class StorageSuite:
    """Subclasses provide `make_storage(prefix)`: a fresh storage whose root is `prefix`
    inside one test-wide base location (`""` is the base itself)."""

    supports_empty_dirs = True

    @pytest.fixture
    def make_storage(self) -> MakeStorage:
        raise NotImplementedError

    @pytest.fixture
    def storage(self, make_storage: MakeStorage) -> BaseStorage:
        return make_storage("")

    # --- reading and writing ------------------------------------------------------------

    def test_text_and_bytes_round_trip(self, storage: BaseStorage) -> None:
        storage.touch("a.txt", "héllo\nworld")
        storage.touch("b.bin", bytes(range(256)))
        assert storage.read("a.txt", "r") == "héllo\nworld"
        assert storage.read("a.txt") == "héllo\nworld".encode()
        assert storage.read("b.bin") == bytes(range(256))

    def test_touch_creates_parents_and_replaces(self, storage: BaseStorage) -> None:
        storage.touch("deep/er/file.txt", "one")
        storage.touch("deep/er/file.txt", b"two")
        assert storage.read("deep/er/file.txt") == b"two"
        assert storage.isdir("deep/er")

    def test_touch_without_content_makes_an_empty_file(self, storage: BaseStorage) -> None:
        storage.touch("empty")
        assert storage.isfile("empty") and storage.read("empty") == b""

    @pytest.mark.parametrize("factory", [io.BytesIO, lambda data: io.StringIO(data.decode())])
    def test_touch_streams_file_objects(self, storage: BaseStorage, factory) -> None:
        data = b"x" * (storage.chunk_size * 2 + 17)
        storage.touch("big", factory(data))
        assert storage.read("big") == data

    def test_touch_reads_in_chunks(self, storage: BaseStorage) -> None:
        data = os.urandom(storage.chunk_size + 5)
        source = ChunkedSource(data)
        storage.touch("chunked", source)
        assert storage.read("chunked") == data
        assert source.reads >= 2

    def test_touch_from_an_open_file(self, storage: BaseStorage, tmp_path) -> None:
        local = tmp_path / "source.bin"
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

    def test_failed_touch_stream_leaves_the_old_content(self, storage: BaseStorage) -> None:
        class Failing(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def read(self, size: int = -1) -> bytes:
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

    def test_writing_below_a_file(self, storage: BaseStorage) -> None:
        storage.touch("plain", b"x")
        with pytest.raises(StorageError):
            storage.touch("plain/child", b"y")
        assert storage.read("plain") == b"x"

    def test_queries_answer_false_for_missing_paths(self, storage: BaseStorage) -> None:
        storage.touch("file.txt", b"x")
        for path in ("nothing", "nothing/below", "file.txt/below"):
            assert storage.exists(path) is False
            assert storage.isfile(path) is False
            assert storage.isdir(path) is False
        assert storage.isfile("file.txt") and not storage.isdir("file.txt")

    # --- rm, cp, ls, find, walk, mkdir --------------------------------------------------

    def test_rm(self, storage: BaseStorage) -> None:
        storage.touch("a/b/c.txt", b"1")
        storage.touch("a/d.txt", b"2")
        storage.rm("a/d.txt")
        assert not storage.exists("a/d.txt")
        with pytest.raises(StorageIsADirectoryError, match="recursive=True"):
            storage.rm("a")
        storage.rm("a", recursive=True)
        assert not storage.exists("a") and storage.find() == []

    def test_rm_missing(self, storage: BaseStorage) -> None:
        with pytest.raises(StorageNotFoundError, match="ghost"):
            storage.rm("ghost")
        storage.rm("ghost", missing_ok=True)

    def test_rm_refuses_the_root(self, storage: BaseStorage) -> None:
        storage.touch("keep", b"x")
        for path in ("", "/", "a/.."):
            with pytest.raises(StoragePathError, match="root"):
                storage.rm(path, recursive=True)
        assert storage.exists("keep")

    def test_cp_file(self, storage: BaseStorage) -> None:
        storage.touch("src.txt", "content")
        storage.cp("src.txt", "copies/dest.txt")
        assert storage.read("copies/dest.txt", "r") == "content"
        storage.touch("other.txt", "other")
        with pytest.raises(StorageExistsError, match="overwrite=True"):
            storage.cp("other.txt", "copies/dest.txt")
        assert storage.read("copies/dest.txt", "r") == "content"
        storage.cp("other.txt", "copies/dest.txt", overwrite=True)
        assert storage.read("copies/dest.txt", "r") == "other"

    def test_cp_directory(self, storage: BaseStorage) -> None:
        big = os.urandom(storage.chunk_size + 3)
        storage.touch("run/model.bin", big)
        storage.touch("run/logs/task.log", "log")
        storage.touch("run/logs/deeper/x.txt", "x")
        storage.cp("run", "backup/run")
        assert storage.find("backup") == [
            "backup/run/logs/deeper/x.txt",
            "backup/run/logs/task.log",
            "backup/run/model.bin",
        ]
        assert storage.read("backup/run/model.bin") == big
        with pytest.raises(StorageExistsError):
            storage.cp("run", "backup/run")
        storage.touch("run/logs/task.log", "new log")
        storage.cp("run", "backup/run", overwrite=True)
        assert storage.read("backup/run/logs/task.log", "r") == "new log"

    def test_cp_errors(self, storage: BaseStorage) -> None:
        storage.touch("dir/file", b"x")
        with pytest.raises(StorageNotFoundError, match="nope"):
            storage.cp("nope", "there")
        with pytest.raises(StoragePathError, match="inside"):
            storage.cp("dir", "dir/sub")
        with pytest.raises(StorageIsADirectoryError):
            storage.cp("dir/file", "dir", overwrite=True)

    def test_ls(self, storage: BaseStorage) -> None:
        assert storage.ls() == ([], [])
        for path in ("b.txt", "a.txt", "z/1", "c/2", "c/d/3"):
            storage.touch(path, b"")
        assert storage.ls() == (["a.txt", "b.txt"], ["c", "z"])
        assert storage.ls("c") == (["2"], ["d"])
        assert storage.ls("/c/") == (["2"], ["d"])
        with pytest.raises(StorageNotFoundError, match="nowhere"):
            storage.ls("nowhere")
        with pytest.raises(StorageNotADirectoryError):
            storage.ls("a.txt")

    def test_find_and_walk(self, storage: BaseStorage) -> None:
        for path in ("runs/2024/01/01/r1/run.json", "runs/2024/01/02/r2/run.json", "top.txt"):
            storage.touch(path, b"{}")
        assert storage.find() == [
            "runs/2024/01/01/r1/run.json",
            "runs/2024/01/02/r2/run.json",
            "top.txt",
        ]
        assert storage.find("runs/2024/01/02") == ["runs/2024/01/02/r2/run.json"]
        assert storage.find("top.txt") == ["top.txt"]
        assert storage.find("missing") == []
        walked = list(storage.walk("runs/2024"))
        assert walked[0] == ("runs/2024", ["01"], [])
        assert [folder for folder, _, _ in walked] == [
            "runs/2024",
            "runs/2024/01",
            "runs/2024/01/01",
            "runs/2024/01/01/r1",
            "runs/2024/01/02",
            "runs/2024/01/02/r2",
        ]
        assert list(storage.walk("missing")) == []

    def test_mkdir(self, storage: BaseStorage) -> None:
        with pytest.raises(StorageNotFoundError, match="make_parents=True"):
            storage.mkdir("x/y")
        storage.mkdir("x/y", make_parents=True)
        storage.mkdir("x/y")
        storage.mkdir("top")
        storage.touch("file", b"")
        with pytest.raises(StorageExistsError):
            storage.mkdir("file")
        if self.supports_empty_dirs:
            assert storage.isdir("x/y") and storage.isdir("top")
            assert storage.ls("x") == ([], ["y"])

    # --- paths --------------------------------------------------------------------------

    def test_unicode_names(self, storage: BaseStorage) -> None:
        storage.touch("données/résumé 2024 ✓.txt", "ok")
        assert storage.ls("données") == (["résumé 2024 ✓.txt"], [])
        assert storage.read("données/résumé 2024 ✓.txt", "r") == "ok"

    def test_leading_slash_is_the_top_of_the_root(self, storage: BaseStorage) -> None:
        storage.touch("/runs/file.txt", b"x")
        assert storage.read("runs/file.txt") == b"x"
        assert storage.isfile("/runs/file.txt")
        assert storage.find("/") == ["runs/file.txt"]

    def test_separators_and_dots(self, storage: BaseStorage) -> None:
        storage.touch("a\\b\\c.txt", b"x")
        assert storage.read("a/b/c.txt") == b"x"
        assert storage.read("./a/./b/../b//c.txt") == b"x"

    def test_empty_path_is_not_a_file(self, storage: BaseStorage) -> None:
        for path in ("", "/", "."):
            with pytest.raises(StoragePathError, match="root"):
                storage.touch(path, b"x")
            with pytest.raises(StoragePathError):
                storage.open(path)

    @pytest.mark.parametrize(
        "call",
        [
            lambda s, p: s.touch(p, b"x"),
            lambda s, p: s.open(p),
            lambda s, p: s.read(p),
            lambda s, p: s.rm(p),
            lambda s, p: s.cp("inside", p),
            lambda s, p: s.cp(p, "inside2"),
            lambda s, p: s.ls(p),
            lambda s, p: s.find(p),
            lambda s, p: s.mkdir(p),
            lambda s, p: s.exists(p),
            lambda s, p: s.isfile(p),
            lambda s, p: s.abspath(p),
        ],
    )
    @pytest.mark.parametrize("path", ["..", "../escape.txt", "a/../../escape.txt", "/../x", "..\\x"])
    def test_escaping_paths_are_refused(self, make_storage: MakeStorage, call, path: str) -> None:
        storage = make_storage("inner")
        storage.touch("inside", b"x")
        with pytest.raises(StoragePathError, match="escapes") as info:
            call(storage, path)
        assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
        assert make_storage("").find() == ["inner/inside"]

    def test_root_prefixes_are_separate(self, make_storage: MakeStorage) -> None:
        outer, first, second = make_storage(""), make_storage("one"), make_storage("two/deep")
        first.touch("f.txt", b"1")
        second.touch("f.txt", b"2")
        assert outer.find() == ["one/f.txt", "two/deep/f.txt"]
        assert first.find() == ["f.txt"] and second.read("f.txt") == b"2"
        assert outer.read("two/deep/f.txt") == b"2"

    def test_abspath_and_relpath(self, make_storage: MakeStorage) -> None:
        storage = make_storage("base")
        storage.touch("a/b.txt", b"x")
        full = storage.abspath("a/b.txt")
        assert full != "a/b.txt" and full.endswith("a/b.txt")
        assert storage.relpath(full) == "a/b.txt"
        assert storage.relpath(storage.abspath("")) == ""
        assert storage.abspath("/a/b.txt") == full
        with pytest.raises(StoragePathError, match="not inside"):
            storage.relpath(make_storage("other").abspath("a/b.txt"))

    def test_local_path(self, storage: BaseStorage) -> None:
        storage.touch("logs/task.log", b"log")
        local = storage.local_path("logs/task.log")
        if local is not None:
            with open(local, "rb") as handle:
                assert handle.read() == b"log"

    def test_runpath(self, storage: BaseStorage) -> None:
        token = activate(Context({"meta": {"run_id": "r1", "run_folder": "/runs/2024/01/01/r1/"}}))
        try:
            assert storage.runpath("model.pkl") == "runs/2024/01/01/r1/model.pkl"
            assert storage.runpath("/sub/x.csv") == "runs/2024/01/01/r1/sub/x.csv"
            assert storage.runpath() == "runs/2024/01/01/r1"
            with pytest.raises(StoragePathError, match="run folder"):
                storage.runpath("../r0/model.pkl")
        finally:
            deactivate(token)

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

    def test_repr_names_the_root(self, storage: BaseStorage) -> None:
        assert type(storage).__name__ in repr(storage) and storage.root in repr(storage)
