"""Unnamed files linked into place: replacing, copying where no link can be made, nothing left on failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tether.files.storages import unnamed
from tether.files.storages.local import LocalStorage

pytestmark = pytest.mark.skipif(not getattr(os, "O_TMPFILE", 0), reason="unnamed files are a Linux feature")


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(unnamed, "_named_only", set())


def _write(folder, name: str, data: bytes) -> bool:
    fd = unnamed.open_unnamed(str(folder))
    assert fd is not None
    try:
        os.write(fd, data)
        return unnamed.name_unnamed(fd, str(folder / name))
    finally:
        os.close(fd)


def test_a_file_is_named_once_written_and_replaces_what_is_there(tmp_path):
    assert _write(tmp_path, "a.bin", b"first")
    assert _write(tmp_path, "a.bin", b"second")
    assert (tmp_path / "a.bin").read_bytes() == b"second"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_without_proc_the_content_is_copied_and_the_folder_remembered(tmp_path, monkeypatch):
    real_link = os.link

    def link(source, *args, **kwargs):
        if source.startswith("/proc/"):
            raise FileNotFoundError(2, "no /proc")
        return real_link(source, *args, **kwargs)

    monkeypatch.setattr(unnamed.os, "link", link)
    assert not _write(tmp_path, "a.bin", b"copied")
    assert (tmp_path / "a.bin").read_bytes() == b"copied"
    assert os.listdir(tmp_path) == ["a.bin"]
    assert unnamed.open_unnamed(str(tmp_path)) is None


def test_a_missing_folder_is_an_error_and_a_file_system_without_them_is_remembered(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError):
        unnamed.open_unnamed(str(tmp_path / "missing"))
    monkeypatch.setattr(unnamed, "_O_TMPFILE", os.O_DIRECTORY)  # not a flag open() can create a file with
    assert unnamed.open_unnamed(str(tmp_path)) is None
    assert str(tmp_path) in unnamed._named_only


def test_a_local_write_killed_half_way_leaves_nothing(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        from tether.files.storages.local import LocalStorage

        with LocalStorage({str(tmp_path)!r}).open("folder/data.bin", "wb") as handle:
            handle.write(b"x" * 100_000)
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert os.listdir(tmp_path / "folder") == []


def test_local_storage_writes_and_copies_through_unnamed_files(tmp_path, monkeypatch):
    named: list[str] = []
    real = unnamed.name_unnamed
    monkeypatch.setattr("tether.files.storages.local.name_unnamed", lambda fd, path: named.append(path) or real(fd, path))
    storage = LocalStorage(tmp_path)
    storage.touch("a/b.txt", b"hello")
    storage.cp("a/b.txt", "c/d.txt")
    assert storage.read("c/d.txt") == b"hello"
    assert named == [str(tmp_path / "a" / "b.txt"), str(tmp_path / "c" / "d.txt")]
    assert sorted(os.listdir(tmp_path / "a")) == ["b.txt"]
