"""Conformance cases on trees: rm, cp, ls, find, walk, mkdir, paths, and copies to and from here."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

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
from tether.testing._storage_support import MakeStorage, random_bytes

__all__ = ["TreeCases"]

# Characters that URLs, shells and globs treat specially; object stores must keep them.
SPECIAL_NAME = "spé cial/a+b c%20d#e?f&g=h[i]~@,:'!$(j).txt"
_MISSING_LOCAL = os.path.join(os.sep, "nonexistent-tether-conformance", "x")

ESCAPING_PATHS = ["..", "../escape.txt", "a/../../escape.txt", "/../x", "..\\x"]
ESCAPING_CALLS: dict[str, Callable[[BaseStorage, str], object]] = {
    "touch": lambda s, p: s.touch(p, b"x"),
    "open": lambda s, p: s.open(p),
    "read": lambda s, p: s.read(p),
    "rm": lambda s, p: s.rm(p),
    "cp to": lambda s, p: s.cp("inside", p),
    "cp from": lambda s, p: s.cp(p, "inside2"),
    "ls": lambda s, p: s.ls(p),
    "find": lambda s, p: s.find(p),
    "walk": lambda s, p: list(s.walk(p)),
    "mkdir": lambda s, p: s.mkdir(p),
    "exists": lambda s, p: s.exists(p),
    "isfile": lambda s, p: s.isfile(p),
    "isdir": lambda s, p: s.isdir(p),
    "abspath": lambda s, p: s.abspath(p),
    "upload": lambda s, p: s.upload(_MISSING_LOCAL, p),
    "download": lambda s, p: s.download(p, _MISSING_LOCAL),
}


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


class TreeCases:
    """Cases on directories, paths and transfers; mixed into `StorageConformance`."""

    supports_empty_dirs: ClassVar[bool]

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

    def test_rm_keeps_siblings_that_share_a_prefix(self, storage: BaseStorage) -> None:
        storage.touch("run/a.txt", b"1")
        storage.touch("run-2/b.txt", b"2")
        storage.touch("runner.txt", b"3")
        storage.rm("run", recursive=True)
        assert storage.find() == ["run-2/b.txt", "runner.txt"]

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
        big = random_bytes(storage.chunk_size + 3)
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
        storage.touch("plain", b"y")
        with pytest.raises(StorageError):
            storage.cp("dir/file", "plain/below")
        assert storage.find() == ["dir/file", "plain"]

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
        if self.supports_empty_dirs:
            storage.mkdir("x/y")
        storage.mkdir("top")
        storage.touch("file", b"")
        with pytest.raises(StorageExistsError):
            storage.mkdir("file")
        with pytest.raises(StorageError):
            storage.mkdir("file/below", make_parents=True)
        if self.supports_empty_dirs:
            assert storage.isdir("x/y") and storage.isdir("top")
            assert storage.ls("x") == ([], ["y"])

    # --- paths --------------------------------------------------------------------------

    def test_unicode_names(self, storage: BaseStorage) -> None:
        storage.touch("données/résumé 2024 ✓.txt", "ok")
        storage.touch("日本語/ファイル.csv", "ok")
        assert storage.ls("données") == (["résumé 2024 ✓.txt"], [])
        assert storage.read("données/résumé 2024 ✓.txt", "r") == "ok"
        assert storage.find("日本語") == ["日本語/ファイル.csv"]

    def test_url_special_characters(self, storage: BaseStorage) -> None:
        folder, _, name = SPECIAL_NAME.rpartition("/")
        storage.touch(SPECIAL_NAME, "special")
        assert storage.read(SPECIAL_NAME, "r") == "special"
        assert storage.ls(folder) == ([name], [])
        storage.cp(SPECIAL_NAME, "copy/" + name)
        assert storage.find() == ["copy/" + name, SPECIAL_NAME]
        storage.rm(folder, recursive=True)
        assert storage.find() == ["copy/" + name]
        storage.touch("glob[1]/x?.txt", "g")
        storage.touch("glob1/kept.txt", "k")
        assert storage.ls("glob[1]") == (["x?.txt"], [])
        storage.rm("glob[1]", recursive=True)
        assert storage.find() == ["copy/" + name, "glob1/kept.txt"]

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

    def test_escaping_paths_are_refused(self, make_storage: MakeStorage) -> None:
        storage = make_storage("inner")
        storage.touch("inside", b"x")
        allowed = []
        for name, call in ESCAPING_CALLS.items():
            for path in ESCAPING_PATHS:
                try:
                    call(storage, path)
                except StoragePathError as exc:
                    assert "escapes" in str(exc) and "\n" not in str(exc), str(exc)
                    assert isinstance(exc, ValueError)
                else:
                    allowed.append(f"{name} with {path!r}")
        assert not allowed, f"paths that climb out of the root were accepted: {allowed}"
        assert make_storage("").find() == ["inner/inside"]

    def test_root_prefixes_are_separate(self, make_storage: MakeStorage) -> None:
        outer, first, second = make_storage(""), make_storage("one"), make_storage("two/deep")
        first.touch("f.txt", b"1")
        second.touch("f.txt", b"2")
        make_storage("one-more").touch("g.txt", b"3")
        assert outer.find() == ["one-more/g.txt", "one/f.txt", "two/deep/f.txt"]
        assert first.find() == ["f.txt"] and first.ls() == (["f.txt"], [])
        assert second.read("f.txt") == b"2"
        assert outer.read("two/deep/f.txt") == b"2"
        first.rm("f.txt")
        assert outer.find() == ["one-more/g.txt", "two/deep/f.txt"]

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

    def test_repr_names_the_root(self, storage: BaseStorage) -> None:
        assert type(storage).__name__ in repr(storage) and storage.root in repr(storage)

    # --- copies to and from this machine ------------------------------------------------

    def test_upload_and_download_a_file(self, storage: BaseStorage, local_dir: Path) -> None:
        local = local_dir / "model.bin"
        data = random_bytes(storage.chunk_size + 11)
        local.write_bytes(data)
        assert storage.upload(local, "models/model.bin") == ["models/model.bin"]
        assert storage.read("models/model.bin") == data
        target = local_dir / "back" / "deep" / "model.bin"
        assert storage.download("models/model.bin", target) == [str(target)]
        assert target.read_bytes() == data
        with pytest.raises(StorageExistsError, match="overwrite=True"):
            storage.download("models/model.bin", target)
        with pytest.raises(StorageExistsError, match="overwrite=True"):
            storage.upload(local, "models/model.bin")
        storage.touch("models/model.bin", b"newer")
        storage.download("models/model.bin", target, overwrite=True)
        assert target.read_bytes() == b"newer"
        assert sorted(p.name for p in target.parent.iterdir()) == ["model.bin"]

    @pytest.mark.parametrize("concurrency", [1, 4])
    def test_upload_and_download_a_folder(
        self, storage: BaseStorage, local_dir: Path, concurrency: int
    ) -> None:
        source = local_dir / "source"
        files = {f"part-{n}.csv": random_bytes(1000 + n) for n in range(7)}
        files.update({"nested/deeper/résumé.txt": "é".encode(), "nested/empty.txt": b""})
        for name, data in files.items():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes(data)
        written = storage.upload(source, "up", concurrency=concurrency)
        assert written == sorted(f"up/{name}" for name in files)
        assert storage.find("up") == written
        assert storage.read("up/nested/deeper/résumé.txt", "r") == "é"
        target = local_dir / "down"
        fetched = storage.download("up", target, concurrency=concurrency)
        assert fetched == sorted(str(target / name) for name in files)
        assert _tree(target) == files

    def test_upload_into_an_existing_folder(self, storage: BaseStorage, local_dir: Path) -> None:
        source = local_dir / "source"
        source.mkdir()
        (source / "new.txt").write_text("new")
        (source / "same.txt").write_text("replaced")
        storage.touch("dest/same.txt", "old")
        storage.touch("dest/other.txt", "kept")
        with pytest.raises(StorageExistsError, match="overwrite=True"):
            storage.upload(source, "dest")
        storage.upload(source, "dest", overwrite=True)
        assert storage.read("dest/same.txt", "r") == "replaced"
        assert storage.find("dest") == ["dest/new.txt", "dest/other.txt", "dest/same.txt"]

    def test_transfers_refuse_to_mix_files_and_folders(self, storage: BaseStorage, local_dir: Path) -> None:
        source = local_dir / "source"
        (source / "x").mkdir(parents=True)
        (source / "x" / "y.txt").write_text("y")
        (source / "z.txt").write_text("z")
        storage.touch("dest/x", "a file where the upload has a folder")
        with pytest.raises(StorageNotADirectoryError, match="x"):
            storage.upload(source, "dest", overwrite=True)
        assert storage.find() == ["dest/x"]
        storage.touch("dir/inner.txt", "i")
        with pytest.raises(StorageIsADirectoryError):
            storage.upload(source / "z.txt", "dir", overwrite=True)
        with pytest.raises(StorageNotADirectoryError):
            storage.upload(source / "z.txt", "dest/x/below/z.txt")
        assert storage.find() == ["dest/x", "dir/inner.txt"]
        local_folder = local_dir / "folder"
        local_folder.mkdir()
        with pytest.raises(StorageIsADirectoryError):
            storage.download("dest/x", local_folder, overwrite=True)
        with pytest.raises(StorageNotADirectoryError):
            storage.download("dir", source / "z.txt", overwrite=True)

    def test_transfers_of_missing_paths(self, storage: BaseStorage, local_dir: Path) -> None:
        with pytest.raises(StorageNotFoundError, match="this machine"):
            storage.upload(local_dir / "nothing", "dest")
        with pytest.raises(StorageNotFoundError, match="nothing"):
            storage.download("nothing", local_dir / "dest")
        assert storage.find() == [] and not (local_dir / "dest").exists()

    def test_empty_folders_travel_where_they_can(self, storage: BaseStorage, local_dir: Path) -> None:
        source = local_dir / "source"
        (source / "empty").mkdir(parents=True)
        (source / "full").mkdir()
        (source / "full" / "f.txt").write_text("f")
        storage.upload(source, "tree")
        assert storage.isdir("tree/empty") == self.supports_empty_dirs
        storage.download("tree", local_dir / "back")
        assert (local_dir / "back" / "empty").is_dir() == self.supports_empty_dirs
        assert (local_dir / "back" / "full" / "f.txt").read_text() == "f"

