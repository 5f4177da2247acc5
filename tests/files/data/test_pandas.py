"""PandasDataManager: every format round-trips, paths resolve, errors say what to do."""

from __future__ import annotations

import io
import sqlite3

import numpy as np
import pandas as pd
import pytest

from tether.exceptions import DataError
from tether.files.data.pandas import PandasDataManager
from tether.files.storages import StorageNotFoundError, StoragePathError

from .conftest import RUN_FOLDER

FORMATS = ["csv", "txt", "parquet", "pq", "json", "feather"]


@pytest.fixture
def manager() -> PandasDataManager:
    return PandasDataManager()


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(4, dtype="int64"),
            "name": ["a", "é", "c,d", 'q"uote'],
            "value": [1.5, np.nan, -2.25, 1e10],
            "flag": [True, False, True, False],
        }
    )


@pytest.mark.parametrize("extension", FORMATS)
def test_round_trip(storage, manager, frame, extension: str) -> None:
    manager.write(f"out/frame.{extension}", frame)
    assert storage.isfile(f"{RUN_FOLDER}/out/frame.{extension}")
    pd.testing.assert_frame_equal(manager.read(f"out/frame.{extension}"), frame)


@pytest.mark.parametrize("extension", ["parquet", "pq"])
def test_parquet_keeps_the_index(storage, manager, frame, extension: str) -> None:
    indexed = frame.set_index("name")
    manager.write(f"indexed.{extension}", indexed)
    pd.testing.assert_frame_equal(manager.read(f"indexed.{extension}"), indexed)
    dated = frame.set_index(pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC", name="day"))
    manager.write(f"dated.{extension}", dated)
    # Parquet does not store an index's freq, in pandas either.
    pd.testing.assert_frame_equal(manager.read(f"dated.{extension}"), dated, check_freq=False)
    multi = frame.set_index(["id", "name"])
    manager.write(f"multi.{extension}", multi)
    pd.testing.assert_frame_equal(manager.read(f"multi.{extension}"), multi)


def test_paths_are_relative_to_the_run_folder_or_the_root(storage, manager, frame) -> None:
    manager.write("file.csv", frame)
    manager.write("file.csv", frame.head(1), root=True)
    manager.write("/top.csv", frame)
    assert storage.isfile(f"{RUN_FOLDER}/file.csv")
    assert storage.isfile("file.csv")
    assert storage.isfile(f"{RUN_FOLDER}/top.csv")
    assert len(manager.read("file.csv")) == 4
    assert len(manager.read("file.csv", root=True)) == 1
    assert len(manager.read(f"{RUN_FOLDER}/file.csv", root=True)) == 4


@pytest.mark.parametrize(("path", "root"), [("../r0/x.csv", False), ("../x.csv", True), ("a/../../x.csv", True)])
def test_escaping_paths_are_refused(storage, manager, frame, path: str, root: bool) -> None:
    with pytest.raises(StoragePathError, match="escapes"):
        manager.write(path, frame, root=root)
    with pytest.raises(StoragePathError, match="escapes"):
        manager.read(path, root=root)


def test_unsupported_extension(storage, manager, frame) -> None:
    with pytest.raises(DataError, match=r"\.xlsx.*\.csv.*\.feather.*\.parquet") as info:
        manager.write("frame.xlsx", frame)
    assert "\n" not in str(info.value)
    with pytest.raises(DataError, match="no extension"):
        manager.read("frame")
    assert storage.find() == []


def test_reading_a_missing_file_names_it(storage, manager) -> None:
    with pytest.raises(StorageNotFoundError, match=f"{RUN_FOLDER}/missing.parquet"):
        manager.read("missing.parquet")


def test_keyword_arguments_reach_pandas(storage, manager, frame) -> None:
    manager.write("semi.csv", frame, sep=";", index=True)
    assert storage.read(f"{RUN_FOLDER}/semi.csv", "r").splitlines()[0] == ";id;name;value;flag"
    back = manager.read("semi.csv", sep=";", index_col=0)
    pd.testing.assert_frame_equal(back, frame)
    manager.write("records.json", frame, orient="records")
    pd.testing.assert_frame_equal(manager.read("records.json", orient="records"), frame)


def test_a_failed_write_keeps_the_previous_file(storage, manager, frame) -> None:
    manager.write("model.parquet", frame)
    unwritable = pd.DataFrame({"mixed": [1, "two", object()]})
    with pytest.raises(DataError, match="cannot write .*model.parquet.* as parquet"):
        manager.write("model.parquet", unwritable)
    pd.testing.assert_frame_equal(manager.read("model.parquet"), frame)
    assert storage.ls(RUN_FOLDER) == (["model.parquet"], [])


def test_a_malformed_file_is_a_data_error(storage, manager) -> None:
    storage.touch(f"{RUN_FOLDER}/broken.parquet", b"not parquet at all")
    with pytest.raises(DataError, match="cannot read .*broken.parquet.* as parquet"):
        manager.read("broken.parquet")


def test_only_data_frames_are_written(storage, manager) -> None:
    with pytest.raises(DataError, match="Series.*to_frame"):
        manager.write("s.csv", pd.Series([1, 2]))


def test_an_explicit_storage(tmp_path, run_context, frame) -> None:
    from tether.files.storages.memory import MemoryStorage

    storage = MemoryStorage()
    manager = PandasDataManager(storage=storage)
    manager.write("x.parquet", frame)
    assert storage.find() == [f"{RUN_FOLDER}/x.parquet"]
    assert "MemoryStorage" in repr(manager)


def test_read_sql_from_sqlite(tmp_path, manager) -> None:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("create table t (a integer, b text)")
        connection.executemany("insert into t values (?, ?)", [(1, "x"), (2, "y")])
    connection.close()
    frame = manager.read_sql("select * from t order by a", url=f"sqlite:///{path}")
    pd.testing.assert_frame_equal(frame, pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    with pytest.raises(DataError, match="no such table"):
        manager.read_sql("select * from missing", url=f"sqlite:///{path}")
    with pytest.raises(DataError, match="url="):
        manager.read_sql("select 1")


def test_read_from_a_text_stream_written_by_storage(storage, manager) -> None:
    storage.touch(f"{RUN_FOLDER}/hand.csv", io.StringIO("a,b\n1,2\n"))
    pd.testing.assert_frame_equal(manager.read("hand.csv"), pd.DataFrame({"a": [1], "b": [2]}))


def test_tsv_and_jsonl_defaults_and_keywords(storage, manager, frame) -> None:
    manager.write("frame.tsv", frame)
    assert storage.read(f"{RUN_FOLDER}/frame.tsv", "r").splitlines()[0] == "id\tname\tvalue\tflag"
    manager.write("frame.jsonl", frame)
    lines = storage.read(f"{RUN_FOLDER}/frame.jsonl", "r").splitlines()
    assert len(lines) == 4 and lines[0].startswith('{"id":0,"name":"a"')
    assert manager.read("frame.jsonl", nrows=2).shape == (2, 4)
    manager.write("indexed.tsv", frame.set_index("id"), index=True)
    pd.testing.assert_frame_equal(manager.read("indexed.tsv", index_col="id"), frame.set_index("id"))


def test_feather_keeps_the_index(storage, manager, frame) -> None:
    indexed = frame.set_index(["flag", "name"])
    for extension in ("feather", "arrow"):
        manager.write(f"indexed.{extension}", indexed)
        pd.testing.assert_frame_equal(manager.read(f"indexed.{extension}"), indexed)


def test_json_writes_dates_as_iso_text(storage, manager) -> None:
    dated = pd.DataFrame({"created_at": pd.to_datetime(["2024-01-02 03:04:05", "2024-02-03 00:00:00"]), "n": [1, 2]})
    for extension in ("json", "jsonl"):
        manager.write(f"dated.{extension}", dated)
        assert "2024-01-02T03:04:05" in storage.read(f"{RUN_FOLDER}/dated.{extension}", "r")
        back = manager.read(f"dated.{extension}")
        pd.testing.assert_frame_equal(back, dated)


def test_parquet_keywords_reach_pyarrow(storage, manager, frame) -> None:
    import pyarrow.parquet as pq

    manager.write("small.parquet", frame, compression="zstd")
    with storage.open(f"{RUN_FOLDER}/small.parquet") as handle:
        assert pq.ParquetFile(handle).metadata.row_group(0).column(0).compression == "ZSTD"
    pd.testing.assert_frame_equal(manager.read("small.parquet", columns=["name"]), frame[["name"]])


def test_an_unknown_keyword_is_one_data_error_line(storage, manager, frame) -> None:
    with pytest.raises(DataError, match=r"cannot write .*x.csv' as csv: .*unexpected keyword argument 'bogus'$"):
        manager.write("x.csv", frame, bogus=1)
    assert storage.find() == []


def test_a_polars_frame_gets_a_conversion_hint(storage, manager) -> None:
    pl = pytest.importorskip("polars")
    with pytest.raises(DataError, match=r"give a pandas DataFrame \(a polars DataFrame converts with .to_pandas\(\)"):
        manager.write("x.parquet", pl.DataFrame({"a": [1]}))


def test_read_sql_with_a_parameter(tmp_path, manager) -> None:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("create table t (a integer, b text)")
        connection.executemany("insert into t values (?, ?)", [(1, "x"), (2, "y")])
    connection.close()
    frame = manager.read_sql("select b from t where a = :a", url=f"sqlite:///{path}", params={"a": 2})
    pd.testing.assert_frame_equal(frame, pd.DataFrame({"b": ["y"]}))
