"""LocalStorage: the conformance suite on a temporary folder, and what is local-only."""

from __future__ import annotations

import os
import stat

import pytest

from tether.exceptions import ImproperlyConfigured
from tether.files.storages.local import LocalStorage

from tether.testing.storage import StorageConformance


class TestLocalStorage(StorageConformance):
    @pytest.fixture
    def make_storage(self, tmp_path):
        return lambda prefix: LocalStorage(os.path.join(tmp_path, prefix) if prefix else tmp_path)


def test_files_are_where_the_root_says(tmp_path) -> None:
    storage = LocalStorage(tmp_path / "root")
    storage.touch("/runs/a.txt", "x")
    assert (tmp_path / "root" / "runs" / "a.txt").read_text() == "x"
    assert storage.local_path("runs/a.txt") == str(tmp_path / "root" / "runs" / "a.txt")
    assert storage.abspath() == str(tmp_path / "root")


def test_file_url_and_relative_roots(tmp_path, monkeypatch) -> None:
    assert LocalStorage(f"file://{tmp_path}").root == str(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert LocalStorage("data").root == str(tmp_path / "data")


def test_relpath_takes_paths_and_file_urls(tmp_path) -> None:
    storage = LocalStorage(tmp_path)
    assert storage.relpath(str(tmp_path / "a" / "b")) == "a/b"
    assert storage.relpath(f"file://{tmp_path}/a") == "a"
    with pytest.raises(ValueError, match="not inside"):
        storage.relpath(str(tmp_path.parent / "elsewhere"))


def test_new_files_follow_the_umask(tmp_path) -> None:
    storage = LocalStorage(tmp_path)
    storage.touch("f", b"x")
    previous = os.umask(0)
    os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "f").st_mode) == 0o666 & ~previous


def test_leftovers_of_a_crash_are_not_listed(tmp_path) -> None:
    storage = LocalStorage(tmp_path)
    storage.touch("model.pkl", b"done")
    (tmp_path / ".model.pkl.0123456789ab.tether-tmp").write_bytes(b"half")
    assert storage.ls() == (["model.pkl"], [])
    assert storage.find() == ["model.pkl"]


def test_options_are_refused(tmp_path) -> None:
    with pytest.raises(ImproperlyConfigured, match="STORAGE_OPTIONS"):
        LocalStorage(tmp_path, anon=True)


def test_rm_of_a_symlinked_directory_keeps_its_target(tmp_path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    storage = LocalStorage(tmp_path / "root")
    storage.mkdir("")
    os.symlink(target, tmp_path / "root" / "link")
    storage.rm("link", recursive=True)
    assert (target / "keep.txt").exists()
