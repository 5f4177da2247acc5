"""Fixtures for data manager tests: a storage from settings, an active run context, frames."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tether.conf import settings
from tether.conf.context import Context, activate, deactivate
from tether.files.data.base import BaseDataManager
from tether.files.data.pandas import PandasDataManager
from tether.files.storages import BaseStorage, default_storage

RUN_FOLDER = "runs/2024/01/01/r1"

# Every extension data managers support, in FORMATS order.
EXTENSIONS = ["csv", "txt", "tsv", "parquet", "pq", "json", "jsonl", "ndjson", "feather", "arrow", "pkl", "pickle"]


@pytest.fixture
def run_context() -> Iterator[Context]:
    context = Context({"meta": {"run_id": "r1", "run_folder": RUN_FOLDER, "created_at": None}})
    token = activate(context)
    yield context
    deactivate(token)


@pytest.fixture(params=["local", "memory"])
def storage(request, tmp_path, run_context) -> Iterator[BaseStorage]:
    """`default_storage` on a local folder, then on a memory store of its own."""
    root = str(tmp_path / "data") if request.param == "local" else f"memory://test-{uuid.uuid4().hex}"
    with settings.override(BASE_DIR=str(tmp_path), STORAGE_BACKEND=None, STORAGE_ROOT=root):
        yield default_storage


@pytest.fixture
def allow_pickle() -> Iterator[None]:
    with settings.override(ALLOW_PICKLE=True):
        yield


@pytest.fixture
def pandas_frame() -> pd.DataFrame:
    """Columns every format holds exactly: ints, text with separators and quotes, floats with NaN, booleans."""
    return pd.DataFrame(
        {
            "id": np.arange(4, dtype="int64"),
            "name": ["a", "é", "c,d\tx", 'q"uote'],
            "value": [1.5, np.nan, -2.25, 1e10],
            "flag": [True, False, True, False],
        }
    )


@dataclass
class Kit:
    """A manager with a frame of its library and the library's frame comparison."""

    manager: BaseDataManager
    frame: Any
    assert_equal: Callable[[Any, Any], None]


@pytest.fixture(params=["pandas", "polars"])
def kit(request, pandas_frame) -> Kit:
    """Each manager in turn, with the same columns as a frame of its library."""
    if request.param == "pandas":
        return Kit(PandasDataManager(), pandas_frame, pd.testing.assert_frame_equal)
    pl = pytest.importorskip("polars")
    from polars.testing import assert_frame_equal

    from tether.files.data.polars import PolarsDataManager

    return Kit(PolarsDataManager(), pl.from_pandas(pandas_frame), assert_frame_equal)


def files_on_disk(storage: BaseStorage, folder: str) -> list[str]:
    """The names in `folder` as the backend holds them, temporary files of writes included."""
    local = storage.local_path(folder)
    if local is None:
        return storage.ls(folder)[0]
    return sorted(os.listdir(local))
