"""The format table, and every format round-tripping through both managers on both storages."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tether.exceptions import DataError
from tether.files.data import FORMATS
from tether.files.data.formats import format_for, one_line
from tether.files.data.pandas import PandasDataManager

from .conftest import EXTENSIONS, RUN_FOLDER, Kit, files_on_disk

ALL_FORMATS = [fmt.name for fmt in FORMATS]
BINARY = ["parquet", "pq", "feather", "arrow", "pkl", "pickle"]


def test_the_table_covers_every_extension_once() -> None:
    extensions = [ext for fmt in FORMATS for ext in fmt.extensions]
    assert extensions == [f".{ext}" for ext in EXTENSIONS]
    assert [fmt.name for fmt in FORMATS if fmt.unsafe] == ["pickle"]


@pytest.mark.parametrize(
    ("key", "name"),
    [("a/b.csv", "csv"), ("b.TXT", "csv"), ("x.tsv", "tsv"), ("d.v1.PQ", "parquet"), ("n.ndjson", "jsonl"), ("f.arrow", "feather")],
)
def test_format_for_reads_the_extension(key: str, name: str) -> None:
    assert format_for(key, ALL_FORMATS, "Owner").name == name


def test_format_for_names_what_is_supported() -> None:
    with pytest.raises(DataError) as info:
        format_for("dir.csv/frame.xlsx", ["csv", "parquet"], "Owner")
    assert str(info.value) == (
        "cannot handle 'dir.csv/frame.xlsx': Owner does not support .xlsx; name the file with"
        " one of .csv, .parquet, .pq, .txt"
    )
    with pytest.raises(DataError, match="no extension"):
        format_for("runs/frame", ALL_FORMATS, "Owner")
    with pytest.raises(DataError, match="does not support .json"):
        format_for("frame.json", ["csv"], "Owner")


def test_one_line() -> None:
    assert one_line(ValueError("first\n\n  second")) == "first"
    assert one_line(KeyError()) == "KeyError"
    assert one_line(ValueError("x" * 1000)).endswith("...")
    assert len(one_line(ValueError("x" * 1000))) == 300


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_every_format_round_trips(storage, kit: Kit, allow_pickle, extension: str) -> None:
    kit.manager.write(f"out/frame.{extension}", kit.frame)
    assert storage.isfile(f"{RUN_FOLDER}/out/frame.{extension}")
    kit.assert_equal(kit.manager.read(f"out/frame.{extension}"), kit.frame)


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_an_empty_frame_round_trips_where_the_format_keeps_its_schema(storage, kit: Kit, allow_pickle, extension: str) -> None:
    empty = kit.frame.head(0)
    kit.manager.write(f"empty.{extension}", empty)
    back = kit.manager.read(f"empty.{extension}")
    assert list(back.columns) == list(empty.columns) or extension in ("json", "jsonl", "ndjson")
    if extension in BINARY:
        kit.assert_equal(back, empty)


@pytest.mark.parametrize("extension", BINARY)
def test_binary_formats_keep_pandas_dtypes_and_index(storage, allow_pickle, extension: str) -> None:
    frame = pd.DataFrame(
        {
            "when": pd.date_range("2024-03-30", periods=3, freq="h", tz="Europe/Paris"),
            "kind": pd.Categorical(["b", "a", "b"], categories=["b", "a"], ordered=True),
            "count": pd.array([1, None, 3], dtype="Int64"),
            "ratio": np.array([0.5, 1.5, -1.0], dtype="float32"),
            "text": pd.array(["x", None, "z"], dtype="string"),
        },
        index=pd.Index(["r1", "r2", "r3"], name="row"),
    )
    manager = PandasDataManager()
    manager.write(f"typed.{extension}", frame)
    pd.testing.assert_frame_equal(manager.read(f"typed.{extension}"), frame)


@pytest.mark.parametrize("extension", BINARY)
def test_binary_formats_keep_polars_dtypes(storage, allow_pickle, extension: str) -> None:
    pl = pytest.importorskip("polars")
    from polars.testing import assert_frame_equal

    from tether.files.data.polars import PolarsDataManager

    frame = pl.DataFrame(
        {
            "when": [dt.datetime(2024, 1, 1, 12), None, dt.datetime(2024, 1, 3)],
            "day": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), None],
            "kind": pl.Series(["b", "a", "b"], dtype=pl.Categorical),
            "count": pl.Series([1, None, 3], dtype=pl.Int16),
            "tags": [["a"], [], None],
            "point": [{"x": 1, "y": 2.0}, None, {"x": 3, "y": None}],
        }
    ).with_columns(pl.col("when").dt.replace_time_zone("Europe/Paris"))
    manager = PolarsDataManager()
    manager.write(f"typed.{extension}", frame)
    assert_frame_equal(manager.read(f"typed.{extension}"), frame)


def test_an_unsupported_extension_lists_the_supported_ones(storage, kit: Kit) -> None:
    with pytest.raises(DataError) as info:
        kit.manager.write("frame.xlsx", kit.frame)
    supported = ", ".join(sorted(f".{ext}" for ext in EXTENSIONS))
    assert str(info.value) == (
        f"cannot handle '{RUN_FOLDER}/frame.xlsx': {type(kit.manager).__name__} does not support"
        f" .xlsx; name the file with one of {supported}"
    )
    with pytest.raises(DataError, match="does not support .xlsx"):
        kit.manager.read("frame.xlsx")
    assert storage.find() == []


@pytest.mark.parametrize("extension", ["pkl", "pickle"])
def test_pickle_is_off_unless_allowed(storage, kit: Kit, extension: str) -> None:
    from tether.conf import settings

    with pytest.raises(DataError) as info:
        kit.manager.write(f"frame.{extension}", kit.frame)
    message = str(info.value)
    assert "\n" not in message
    assert "arbitrary code" in message and "ALLOW_PICKLE = True" in message
    assert storage.find() == []
    storage.touch(f"{RUN_FOLDER}/frame.{extension}", b"not read at all")
    with pytest.raises(DataError, match="ALLOW_PICKLE = True"):
        kit.manager.read(f"frame.{extension}")
    with settings.override(ALLOW_PICKLE=True):
        kit.manager.write(f"frame.{extension}", kit.frame)
        kit.assert_equal(kit.manager.read(f"frame.{extension}"), kit.frame)
    assert files_on_disk(storage, RUN_FOLDER) == [f"frame.{extension}"]
