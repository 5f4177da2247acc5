"""Parquet and npy encodings: the fast path for plain numeric frames writes what pyarrow would."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from tether.bundles import frames

PLAIN = [
    pd.DataFrame(np.random.default_rng(0).random((100, 3)), columns=list("abc")),
    pd.DataFrame(np.arange(12).reshape(4, 3), columns=["x", "y", "z"], index=pd.RangeIndex(5, 13, 2, name="i")),
    pd.DataFrame(np.ones((3, 2), dtype=bool), columns=["p", "q"]),
    pd.DataFrame(np.arange(4, dtype=np.uint8).reshape(2, 2), columns=["start", '"stop": 0']),
    # What parquet alone would not bring back: the pandas metadata must be written for these.
    pd.DataFrame(np.ones((2, 2)), columns=pd.Index(["a", "b"], dtype=object)),
    pd.DataFrame(np.ones((2, 2)), columns=pd.Index(["a", "b"], name="measure")),
    pd.DataFrame(np.ones((2, 2)), index=pd.RangeIndex(2, name="row"), columns=["a", "b"]),
    pd.DataFrame(np.ones((2, 2)), index=pd.RangeIndex(1, 3), columns=["a", "b"]),
    pd.DataFrame(np.arange(6, dtype=np.float16).reshape(3, 2), columns=["h", "i"]),
]


@pytest.mark.parametrize("frame", PLAIN, ids=range(len(PLAIN)))
def test_the_fast_path_builds_the_table_pyarrow_builds(frame):
    fast = frames._fast_table(frame)
    slow = pa.Table.from_pandas(frame, preserve_index=None)
    assert fast is not None
    assert fast.equals(slow) and fast.schema.equals(slow.schema, check_metadata=True)
    data, fix = frames.encode_frame(frame)
    assert fix == ({"columns_object": True} if frame.columns.dtype == object else {})
    back = frames.decode_frame(data, fix)
    assert_frame_equal(back, frame, check_exact=True, check_index_type=True, check_column_type=True)
    assert type(back.index) is pd.RangeIndex


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]}),
        pd.DataFrame({"a": [1]}, index=pd.Index([7])),
        pd.DataFrame(np.ones((1, 2)), columns=["a", "a"]),
        pd.DataFrame(np.ones((1, 2))),
        pd.DataFrame({"a": ["x"]}),
        pd.DataFrame({"a": [1]}).set_axis(pd.Index(["a"], name="cols"), axis=1).pipe(lambda f: f.__setattr__("attrs", {"k": 1}) or f),
    ],
    ids=["mixed dtypes", "int index", "duplicate labels", "range labels", "strings", "attrs"],
)
def test_other_frames_take_the_general_path(frame):
    assert frames._fast_table(frame) is None


def test_small_frames_skip_compression_and_large_ones_keep_it():
    small = pd.DataFrame(np.zeros((10, 2)), columns=["a", "b"])
    large = pd.DataFrame(np.zeros((200_000, 2)), columns=["a", "b"])
    for frame, codec in ((small, "UNCOMPRESSED"), (large, "SNAPPY")):
        data, _ = frames.encode_frame(frame)
        assert pq.ParquetFile(pa.BufferReader(data)).metadata.row_group(0).column(0).compression == codec


def test_object_columns_that_parquet_changes_are_refused():
    with pytest.raises(frames.FrameError, match="column 'm' has dtype object"):
        frames.encode_frame(pd.DataFrame({"m": np.array([1, 2.5], dtype=object)}))
    with pytest.raises(frames.FrameError, match="categorical index"):
        frames.encode_frame(pd.DataFrame({"a": [1]}, index=pd.CategoricalIndex(["x"])))


def test_object_columns_keep_none_and_python_types():
    frame = pd.DataFrame({"o": pd.Series(["a", None], dtype=object), "n": pd.Series([1.5, None], dtype=object)})
    data, fix = frames.encode_frame(frame)
    back = frames.decode_frame(data, fix)
    assert list(back.dtypes) == [object, object]
    assert back["o"].tolist() == ["a", None] and back["n"].tolist() == [1.5, None]


def test_arrays_with_objects_need_pickle():
    with pytest.raises(frames.FrameError, match="pickle"):
        frames.encode_array(np.array([object()]))
    scalar = frames.decode_array(frames.encode_array(np.float16(2.5)), scalar=True)
    assert type(scalar) is np.float16 and scalar == 2.5
