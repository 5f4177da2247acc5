"""BaseDataManager: paths, what readers are given, atomic writes, errors."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pandas as pd
import pytest

from tether.conf import settings
from tether.exceptions import DataError
from tether.files.data.base import BaseDataManager
from tether.files.data.pandas import PandasDataManager
from tether.files.storages import StorageNotFoundError, default_storage

from .conftest import RUN_FOLDER, files_on_disk


class EchoManager(BaseDataManager):
    """Reads give back what the reader was handed; writes store text."""

    readers = {"csv": lambda source, **kwargs: source, "parquet": lambda source, **kwargs: source}
    writers = {"csv": lambda df, target, **kwargs: target.write(df.encode())}
    path_formats = frozenset({"parquet"})


class FlakyManager(PandasDataManager):
    """Writes half of the CSV, then fails as a library would mid-stream."""

    def _half_then_fail(df: pd.DataFrame, target: Any, **kwargs: Any) -> None:
        target.write(df.to_csv(index=False).encode()[:5])
        raise ValueError("the disk is on fire")

    writers = {**PandasDataManager.writers, "csv": _half_then_fail}


def test_resolve(run_context) -> None:
    manager = EchoManager()
    assert manager.resolve("a/b.csv") == f"{RUN_FOLDER}/a/b.csv"
    assert manager.resolve("/a/b.csv") == f"{RUN_FOLDER}/a/b.csv"
    assert manager.resolve("/a/b.csv", root=True) == "a/b.csv"


def test_writes_go_through_the_default_storage(run_context) -> None:
    with settings.override(STORAGE_ROOT="memory://"):
        EchoManager().write("note.csv", "hello")
        assert default_storage.read(f"{RUN_FOLDER}/note.csv", "r") == "hello"


def test_readers_get_a_local_path_only_for_path_formats_on_local_storage(storage) -> None:
    manager = EchoManager()
    manager.write("a.csv", "x")
    storage.touch(f"{RUN_FOLDER}/a.parquet", b"x")
    assert hasattr(manager.read("a.csv"), "read")
    source = manager.read("a.parquet")
    if storage.local_path("") is None:
        assert hasattr(source, "read")
    else:
        assert source == os.path.join(storage.root, *RUN_FOLDER.split("/"), "a.parquet")


def test_memory_storage_never_touches_the_local_disk(tmp_path, run_context, kit, allow_pickle) -> None:
    with settings.override(BASE_DIR=str(tmp_path), STORAGE_ROOT=f"memory://disk-free-{uuid.uuid4().hex}"):
        for extension in ("csv", "parquet", "feather", "jsonl", "pkl"):
            kit.manager.write(f"frame.{extension}", kit.frame)
            kit.assert_equal(kit.manager.read(f"frame.{extension}"), kit.frame)
        assert default_storage.local_path("") is None
    assert os.listdir(tmp_path) == []


def test_a_manager_supports_only_its_formats(storage) -> None:
    manager = EchoManager()
    with pytest.raises(DataError, match=r"EchoManager does not support \.parquet; .* one of \.csv, \.txt$"):
        manager.write("a.parquet", "x")
    with pytest.raises(DataError, match=r"does not support \.json; .* one of \.csv, \.parquet, \.pq, \.txt$"):
        manager.read("a.json")


def test_read_sql_is_not_supported_by_default(tmp_path) -> None:
    pytest.importorskip("sqlalchemy")
    open(tmp_path / "db.sqlite3", "wb").close()
    with pytest.raises(DataError, match="EchoManager does not read from databases"):
        EchoManager().read_sql("select 1", url=f"sqlite:///{tmp_path / 'db.sqlite3'}")


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(storage, pandas_frame) -> None:
    manager = FlakyManager()
    manager.write("frame.parquet", pandas_frame)
    storage.touch(f"{RUN_FOLDER}/frame.csv", b"old,file\n1,2\n")
    with pytest.raises(DataError) as info:
        manager.write("frame.csv", pandas_frame)
    assert str(info.value) == f"cannot write '{RUN_FOLDER}/frame.csv' as csv: the disk is on fire"
    assert isinstance(info.value.__cause__, ValueError)
    assert storage.read(f"{RUN_FOLDER}/frame.csv") == b"old,file\n1,2\n"
    with pytest.raises(DataError):
        manager.write("new.csv", pandas_frame)
    assert not storage.exists(f"{RUN_FOLDER}/new.csv")
    assert files_on_disk(storage, RUN_FOLDER) == ["frame.csv", "frame.parquet"]


def test_a_missing_file_is_a_storage_error_before_any_parsing(storage) -> None:
    with pytest.raises(StorageNotFoundError, match=f"{RUN_FOLDER}/missing.parquet"):
        PandasDataManager().read("missing.parquet")


def test_repr_names_the_storage(run_context) -> None:
    from tether.files.storages.memory import MemoryStorage

    assert repr(EchoManager(storage=MemoryStorage("memory://named"))) == "EchoManager(MemoryStorage('memory://named'))"
