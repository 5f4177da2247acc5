"""Encoding and decoding: every supported type comes back equal and of the same type."""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import enum
import math
import uuid
import zoneinfo
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

import tether.bundles as api
from tether.bundles.encoding import Encoder, summary


def same(left: Any, right: Any) -> bool:
    """Equal and of the same types all the way down (NaN equals NaN)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, pd.DataFrame):
        assert_frame_equal(left, right, check_exact=True, check_index_type=True, check_column_type=True, check_freq=True)
        return type(left.index) is type(right.index) and type(left.columns) is type(right.columns) and left.attrs == right.attrs
    if isinstance(left, pd.Series):
        assert_series_equal(left, right, check_exact=True, check_index_type=True, check_freq=True)
        return left.name == right.name
    if isinstance(left, np.ndarray):
        return left.dtype == right.dtype and left.shape == right.shape and np.array_equal(left, right, equal_nan=left.dtype.kind in "fc") and left.flags.f_contiguous == right.flags.f_contiguous
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(a, b) for a, b in zip(left.values(), right.values())) and all(
            same(a, b) for a, b in zip(left, right)
        )
    if isinstance(left, dt.datetime | dt.time):
        return left == right and left.tzinfo == right.tzinfo and left.fold == right.fold and str(left) == str(right)
    return bool(left == right)


def roundtrip(ctx: str, value: Any) -> Any:
    with api.Bundle(ctx, name="value") as bundle:
        bundle.add_data(value)
    return api.get(ctx, uuid=bundle.uuid).data


PARIS = zoneinfo.ZoneInfo("Europe/Paris")

SCALARS = [
    0, 1, -(10**40), True, False, None, 1.0, -0.0, 0.1, float("nan"), float("inf"), float("-inf"),
    1 + 2j, "", "text", "caf\u00e9 \ud83d\ude00", "\ud800 lone surrogate", b"", b"\x00\xff bytes", bytearray(b"ab"),
    decimal.Decimal("1.10"), uuid.UUID("12345678-1234-5678-1234-567812345678"), range(2, 20, 3),
]
CONTAINERS = [
    [], (), {}, [1, "a", None, 2.5, True], (1, 2), (1,), ((1, 2), [3, (4,)]), {"a": {"b": [1, {"c": None}]}},
    {1: "int key", 1.5: "float key", (1, 2): "tuple key", None: "none key", False: "bool key"},
    {"tuple": (1, 2), "nested": {"t": (3,)}}, {1, 2, 3}, frozenset({"a", "b"}), [float("nan")],
    {"big": list(range(5000))},
]
TIMES = [
    dt.datetime(2024, 3, 1, 12, 30, 15, 123456),
    dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.timezone.utc),
    dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=-3), "BRT")),
    dt.datetime(2024, 7, 1, 9, 0, tzinfo=PARIS),
    dt.datetime(2024, 10, 27, 2, 30, tzinfo=PARIS, fold=1),
    dt.date(2024, 2, 29), dt.time(23, 59, 59, 999999), dt.time(8, 0, tzinfo=dt.timezone.utc),
    dt.timedelta(days=-1, seconds=5, microseconds=7),
]


PLAIN = SCALARS + CONTAINERS + TIMES


@pytest.mark.parametrize("value", PLAIN, ids=[f"{index}-{type(value).__name__}" for index, value in enumerate(PLAIN)])
def test_plain_values_round_trip_exactly(ctx, value):
    assert same(value, roundtrip(ctx, value))


def test_int_float_bool_and_none_stay_distinct(ctx):
    values = [1, 1.0, True, None, "1", 0, 0.0, False]
    back = roundtrip(ctx, values)
    assert [type(v) for v in back] == [int, float, bool, type(None), str, int, float, bool]
    assert roundtrip(ctx, (1, 1.0, True)) == (1, 1.0, True) and type(roundtrip(ctx, 1.0)) is float


def test_tuples_stay_tuples_at_any_depth(ctx):
    back = roundtrip(ctx, {"a": [(1, (2, 3))], "b": ((),)})
    assert back == {"a": [(1, (2, 3))], "b": ((),)}
    assert type(back["a"][0]) is tuple and type(back["a"][0][1]) is tuple and type(back["b"][0]) is tuple


FRAMES = {
    "floats": pd.DataFrame(np.arange(300.0).reshape(100, 3), columns=list("abc")),
    "range index with step": pd.DataFrame({"a": [1, 2, 3]}, index=pd.RangeIndex(10, 16, 2, name="r")),
    "int column labels": pd.DataFrame(np.ones((2, 3))),
    "named string index": pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="key")),
    "object index": pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", None], dtype=object)),
    "multi index": pd.DataFrame({"a": [1, 2]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["p", "q"])),
    "multi columns": pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])),
    "tz datetimes": pd.DataFrame({"t": pd.date_range("2024-01-01", periods=3, tz="Europe/Paris")}),
    "datetime index with freq": pd.DataFrame({"a": [1, 2]}, index=pd.date_range("2024", periods=2, freq="D")),
    "timedelta index with freq": pd.DataFrame({"a": [1, 2]}, index=pd.timedelta_range("1D", periods=2, freq="h")),
    "categorical": pd.DataFrame({"c": pd.Categorical(["a", "b", "a"], categories=["b", "a"], ordered=True)}),
    "int categories": pd.DataFrame({"c": pd.Categorical([1, 2, None], categories=[3, 1, 2])}),
    "strings with missing": pd.DataFrame({"s": ["a", None, "c"]}),
    "object strings": pd.DataFrame({"o": pd.Series(["a", None], dtype=object)}).astype({"o": object}),
    "object floats and None": pd.DataFrame({"m": np.array([1.5, None], dtype=object)}),
    "nullable ints": pd.DataFrame({"i": pd.array([1, None, 3], dtype="Int64")}),
    "mixed dtypes": pd.DataFrame({"i": [1, 2], "f": [0.5, 1.5], "b": [True, False], "s": ["x", "y"]}),
    "uint8 and float32": pd.DataFrame({"u": np.array([1, 2], dtype=np.uint8), "f": np.array([1, 2], dtype=np.float32)}),
    "empty": pd.DataFrame(),
    "no rows": pd.DataFrame({"a": pd.Series([], dtype="float64")}),
    "attrs": pd.DataFrame({"a": [1]}).pipe(lambda f: f.__setattr__("attrs", {"source": "x"}) or f),
    "bytes": pd.DataFrame({"b": [b"x", b"y"]}),
    "float index": pd.DataFrame({"a": [1, 2]}, index=[0.5, 1.5]),
    "object column labels": pd.DataFrame({"a": ["x"], "b": [1]}).set_axis(pd.Index(["a", "b"], dtype=object), axis=1),
    "named column labels": pd.DataFrame({"a": [1]}).set_axis(pd.Index(["a"], name="measure"), axis=1),
}


@pytest.mark.parametrize("name", FRAMES)
def test_dataframes_round_trip_exactly_with_their_index(ctx, name):
    frame = FRAMES[name]
    assert same(frame, roundtrip(ctx, frame))


def test_series_keeps_name_index_and_dtype(ctx):
    for series in (
        pd.Series([1, 2], name=("a", 1)),
        pd.Series([1.5, None], index=["x", "y"], name=None),
        pd.Series(pd.date_range("2024", periods=2, tz="UTC"), name=3),
    ):
        assert same(series, roundtrip(ctx, series))


def test_numpy_arrays_and_scalars_keep_dtype_shape_and_order(ctx):
    values = [
        np.arange(12, dtype=np.int16).reshape(3, 4),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.array(["a", "bc"]),
        np.array([1 + 2j]),
        np.array(["2024-01-01"], dtype="datetime64[ns]"),
        np.zeros((0, 2)),
        np.float32(1.5),
        np.int64(-3),
        np.bool_(True),
        np.datetime64("2024-01-01T00:00"),
    ]
    for value in values:
        back = roundtrip(ctx, value)
        assert type(back) is type(value)
        if isinstance(value, np.ndarray):
            assert same(value, back)
        else:
            assert back == value and back.dtype == value.dtype


def test_pandas_scalars_round_trip(ctx):
    values = [pd.Timestamp("2024-01-01 12:00", tz="Europe/Paris"), pd.Timestamp("2024-01-01").as_unit("s"), pd.Timedelta(5, "s"), pd.NaT]
    back = roundtrip(ctx, values)
    assert back[0] == values[0] and str(back[0].tz) == "Europe/Paris" and back[1].unit == "s"
    assert back[2] == values[2] and back[3] is pd.NaT


def test_data_nested_in_containers(ctx, make_frame):
    value = {"frame": make_frame(5), "arrays": (np.arange(3), [np.float64(2.5)]), 3: {"when": dt.date(2024, 1, 1)}}
    back = roundtrip(ctx, value)
    assert same(value["frame"], back["frame"]) and same(value["arrays"][0], back["arrays"][0])
    assert type(back["arrays"]) is tuple and back[3] == {"when": dt.date(2024, 1, 1)}


Point = collections.namedtuple("Point", "x y")


class Color(enum.Enum):
    RED = 1


class Custom:
    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Custom) and other.value == self.value


@pytest.mark.parametrize(
    "value, kind",
    [
        (Point(1, 2), "Point"),
        (collections.OrderedDict(a=1), "OrderedDict"),
        (Color.RED, "Color"),
        (Custom(1), "Custom"),
        (np.array([{"a": 1}], dtype=object), "ndarray"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "DataFrame"),
        (pd.DataFrame({"m": [1, "a"]}), "DataFrame"),
        (dt.datetime(2024, 1, 1, tzinfo=dt.tzinfo.__new__(type("OddZone", (dt.tzinfo,), {"utcoffset": lambda s, d: dt.timedelta(0)}))), "datetime"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_values_not_kept_exactly_need_pickle(ctx, value, kind):
    with pytest.raises(api.BundleDataError, match=f"{kind}.*ALLOW_PICKLE"):
        api.Bundle(ctx, name="odd", data=value)
    assert api.search(ctx) == []


def test_pickle_when_allowed_keeps_subclasses(ctx, allow_pickle):
    value = {"point": Point(1, 2), "ordered": collections.OrderedDict(b=2, a=1), "custom": Custom(3), "color": Color.RED}
    back = roundtrip(ctx, value)
    assert back == value and type(back["point"]) is Point and type(back["ordered"]) is collections.OrderedDict


def test_pickled_data_is_not_read_without_allow_pickle(ctx, project):
    from tether.conf import settings

    with settings.override(ALLOW_PICKLE=True):
        api.Bundle(ctx, name="pickled", data=Custom(1))
    with pytest.raises(api.BundleDataError, match="pickled .*Custom.*ALLOW_PICKLE"):
        api.cat(ctx, "pickled")


def test_files_and_folders_come_back_as_local_paths_with_their_content(ctx, tmp_path):
    source = tmp_path / "src"
    (source / "a").mkdir(parents=True)
    (source / "b").mkdir()
    (source / "a" / "x.csv").write_text("from a")
    (source / "b" / "x.csv").write_text("from b")
    (source / "empty").mkdir()
    single = tmp_path / "model.bin"
    single.write_bytes(b"\x00weights")
    back = roundtrip(ctx, {"folder": source, "file": single})
    assert isinstance(back["file"], Path) and back["file"].name == "model.bin"
    assert back["file"].read_bytes() == b"\x00weights"
    assert (back["folder"] / "a" / "x.csv").read_text() == "from a"
    assert (back["folder"] / "b" / "x.csv").read_text() == "from b"
    assert (back["folder"] / "empty").is_dir()


def test_same_named_files_from_different_folders_are_all_kept(ctx, tmp_path):
    paths = []
    for folder in ("one", "two", "three"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "data.csv").write_text(folder)
        paths.append(tmp_path / folder / "data.csv")
    back = roundtrip(ctx, paths)
    assert [p.read_text() for p in back] == ["one", "two", "three"]
    assert len({str(p) for p in back}) == 3 and all(p.name == "data.csv" for p in back)


def test_a_missing_file_is_refused(ctx, tmp_path):
    with pytest.raises(api.BundleDataError, match="does not exist"):
        api.Bundle(ctx, name="missing", data=tmp_path / "nope.txt")


def test_storage_files_are_copied_in(ctx, project):
    from tether.files.storages import default_storage

    default_storage.touch("runs/x/out/model.pkl", b"model")
    default_storage.touch("runs/x/out/sub/a.txt", b"a")
    value = {"model": api.StorageFile("runs/x/out/model.pkl"), "all": api.StorageFile("runs/x/out", name="outputs")}
    back = roundtrip(ctx, value)
    assert back["model"].read_bytes() == b"model"
    assert back["all"].name == "outputs" and (back["all"] / "sub" / "a.txt").read_bytes() == b"a"


def test_summary_names_the_top_level_type():
    encoder = Encoder(allow_pickle=False)
    assert summary(encoder.encode({"a": 1})) == "dict"
    assert summary(encoder.encode((1,))) == "tuple"
    assert summary(encoder.encode(None)) == "None"
    assert summary(encoder.encode(pd.DataFrame({"a": [1]}))) == "DataFrame"
