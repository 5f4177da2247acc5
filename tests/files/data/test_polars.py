"""PolarsDataManager: keyword arguments, local paths, frames it refuses, errors, a missing polars."""

from __future__ import annotations

import importlib
import io
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tether.exceptions import DataError, ImproperlyConfigured
from tether.files.data.pandas import PandasDataManager

from .conftest import RUN_FOLDER, files_on_disk

pl = pytest.importorskip("polars")

from polars.testing import assert_frame_equal  # noqa: E402

from tether.files.data.polars import PolarsDataManager  # noqa: E402


@pytest.fixture
def manager() -> PolarsDataManager:
    return PolarsDataManager()


@pytest.fixture
def frame() -> pl.DataFrame:
    return pl.DataFrame({"id": [1, 2, 3], "name": ["a", None, "c;d"], "value": [0.5, None, -1.0]})


def test_keyword_arguments_reach_polars(storage, manager, frame) -> None:
    manager.write("semi.csv", frame, separator=";", include_header=False)
    assert storage.read(f"{RUN_FOLDER}/semi.csv", "r").splitlines()[0] == '1;a;0.5'
    back = manager.read("semi.csv", separator=";", has_header=False, new_columns=["id", "name", "value"])
    assert_frame_equal(back, frame)
    manager.write("small.parquet", frame, compression="gzip")
    with storage.open(f"{RUN_FOLDER}/small.parquet") as handle:
        assert pq.ParquetFile(handle).metadata.row_group(0).column(0).compression == "GZIP"
    assert manager.read("small.parquet", columns=["name"]).columns == ["name"]
    assert manager.read("semi.csv", has_header=False, separator=";", n_rows=1).height == 1


def test_an_unknown_keyword_is_one_data_error_line(storage, manager, frame) -> None:
    with pytest.raises(DataError, match=r"cannot write .*x.csv' as csv: .*unexpected keyword argument 'bogus'$"):
        manager.write("x.csv", frame, bogus=1)
    assert storage.find() == []


def test_glob_characters_in_a_name_are_literal(storage, manager, frame) -> None:
    for name in ("data[1].parquet", "what?.csv", "star*.arrow"):
        manager.write(name, frame)
        assert_frame_equal(manager.read(name), frame)


def test_an_empty_jsonl_file_is_an_empty_frame(storage, manager) -> None:
    storage.touch(f"{RUN_FOLDER}/empty.jsonl", b"")
    assert manager.read("empty.jsonl").shape == (0, 0)
    schema = {"a": pl.Int64}
    assert manager.read("empty.jsonl", schema=schema).schema == pl.Schema(schema)


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (pd.DataFrame({"a": [1]}), r"pl.from_pandas\(df\)"),
        (pl.LazyFrame({"a": [1]}), r"\.collect\(\)"),
        (pl.Series("a", [1]), r"\.to_frame\(\)"),
        ({"a": [1]}, r"pl.DataFrame\(...\)"),
    ],
)
def test_only_polars_frames_are_written(storage, manager, value, hint: str) -> None:
    with pytest.raises(DataError, match=f"give a polars DataFrame .*{hint}"):
        manager.write("x.parquet", value)
    assert storage.find() == []


@pytest.mark.parametrize("extension", ["parquet", "csv", "arrow", "json", "jsonl"])
def test_a_failed_write_keeps_the_previous_file(storage, manager, frame, extension: str) -> None:
    manager.write(f"frame.{extension}", frame)
    unwritable = pl.DataFrame({"o": [object()]}, schema={"o": pl.Object})
    with pytest.raises(DataError, match=f"cannot write .*frame.{extension}' as "):
        manager.write(f"frame.{extension}", unwritable)
    assert_frame_equal(manager.read(f"frame.{extension}"), frame)
    assert files_on_disk(storage, RUN_FOLDER) == [f"frame.{extension}"]


@pytest.mark.parametrize("extension", ["parquet", "csv", "arrow", "json", "ndjson"])
def test_a_malformed_file_is_one_data_error_line(storage, manager, extension: str) -> None:
    content = b"a,b\n1,2,3,4\n" if extension == "csv" else b'\x00{"a": [1, 2\n"""'
    storage.touch(f"{RUN_FOLDER}/broken.{extension}", content)
    with pytest.raises(DataError, match=f"cannot read .*broken.{extension}' as ") as info:
        manager.read(f"broken.{extension}")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("extension", ["parquet", "feather", "csv", "tsv", "jsonl"])
def test_reads_what_the_pandas_manager_wrote(storage, manager, extension: str) -> None:
    source = pd.DataFrame({"id": [1, 2], "name": ["x", "y"], "value": [0.25, 1.5]})
    PandasDataManager().write(f"shared.{extension}", source)
    assert_frame_equal(manager.read(f"shared.{extension}"), pl.from_pandas(source))


def test_a_missing_polars_gives_the_install_hint(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)
    monkeypatch.delitem(sys.modules, "tether.files.data.polars")
    with pytest.raises(ImproperlyConfigured, match=r"PolarsDataManager needs polars.*pip install 'tether\[polars\]'"):
        importlib.import_module("tether.files.data.polars")


def test_read_from_a_stream_on_memory_storage(run_context, frame) -> None:
    from tether.files.storages.memory import MemoryStorage

    storage = MemoryStorage()
    manager = PolarsDataManager(storage=storage)
    manager.write("x.csv", frame)
    assert storage.local_path("") is None
    assert_frame_equal(manager.read("x.csv"), frame)
    assert isinstance(storage.read(f"{RUN_FOLDER}/x.csv"), bytes)
    assert io.BytesIO(storage.read(f"{RUN_FOLDER}/x.csv")).read(2) == b"id"
